"""The import graph of modelwatch/ and pages/, imports inside functions included: no cycle, and no arrow points up.

Read with ``ast`` (nothing is imported), so a function-level import cannot hide a cycle. Imports under
``if TYPE_CHECKING:`` (never run) and ``if __name__ == "__main__":`` (run by a script, not by an import: the
sandbox's process entry point) are left out. An edge goes to the module named (``from a.b import c`` is
``a.b.c`` when that is a module, else ``a.b``), not to the packages around it, as Python resolves them.
"""
from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("modelwatch", "pages")

# layer -> what it must never import (a prefix matches the module and everything under it)
FORBIDDEN = {
    "modelwatch.core": ("flask", "flask_sqlalchemy", "dash", "sqlalchemy", "plotly", "celery", "modelwatch.services",
                        "modelwatch.execution", "modelwatch.api", "modelwatch.dashboard", "modelwatch.figures",
                        "modelwatch.models", "modelwatch.auth", "modelwatch.settings", "modelwatch.extensions",
                        "modelwatch.app", "modelwatch.celery_worker", "pages"),
    "modelwatch.execution": ("modelwatch.api", "modelwatch.dashboard", "modelwatch.app",
                             "modelwatch.celery_worker", "pages"),
    "modelwatch.services": ("modelwatch.api", "modelwatch.dashboard", "modelwatch.app", "modelwatch.celery_worker",
                            "pages"),
    "modelwatch.services.presenters": ("flask",),  # the API hands in its request's host URL
    "modelwatch.figures": ("flask", "modelwatch.services", "modelwatch.api", "modelwatch.dashboard", "modelwatch.app",
                           "pages"),
    "modelwatch.api": ("modelwatch.dashboard", "modelwatch.app", "modelwatch.celery_worker", "pages"),
    "modelwatch.dashboard": ("modelwatch.api", "modelwatch.app", "modelwatch.celery_worker"),
    "pages": ("modelwatch.api", "modelwatch.app", "modelwatch.celery_worker"),
}
# where a function-level import of our own modules is allowed, and why: the sandbox's process entry points import
# what they need only after the fork or before the resource limits are set; optional model libraries are
# loaded only for the models that need them
LAZY_ALLOWED = ("modelwatch.core",)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = _modules()


def _never_imported(node: ast.If) -> bool:
    """``if TYPE_CHECKING:`` never runs; ``if __name__ == "__main__":`` runs only in a script, a module of its own."""
    test = node.test
    if isinstance(test, ast.Compare):
        return isinstance(test.left, ast.Name) and test.left.id == "__name__" and any(
            isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(node: ast.AST, in_function: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    """Every node with whether it sits inside a function, skipping the bodies that are never imported."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _never_imported(child):
            for other in child.orelse:
                yield other, in_function
                yield from _walk(other, in_function)
            continue
        inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        yield child, in_function
        yield from _walk(child, inner)


@functools.cache
def imports(name: str) -> list[tuple[str, bool]]:
    """(absolute name imported, whether inside a function) for every import statement of module ``name``."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node, in_function in _walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, in_function) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:  # a project module by its module, a library by the name taken from it
                full = f"{base}.{alias.name}"
                found.append((full if full in MODULES or _project(base) is None else base, in_function))
    return found


def _project(target: str) -> str | None:
    """The project module an imported name resolves to (the longest known prefix), or None for a library."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            return candidate
    return None


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for name in MODULES:
        for target, _ in imports(name):
            module = _project(target)
            if module is not None and module != name:
                edges[name].add(module)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_the_walk_finds_the_layers():
    for layer in FORBIDDEN:
        assert any(_under(name, layer) for name in MODULES), layer


def test_no_import_cycle_even_counting_imports_inside_functions():
    assert cycles(graph()) == []


def test_the_cycle_finder_sees_a_cycle_through_a_function_level_import():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_one_above_it(layer):
    wrong = sorted(f"{name} imports {target}" for name in MODULES if _under(name, layer)
                   for target, _ in imports(name)
                   if any(_under(target, banned) for banned in FORBIDDEN[layer]))
    assert wrong == []


def test_execution_takes_its_work_from_the_factory_and_uses_no_use_case():
    used = {_project(target) for name in MODULES if _under(name, "modelwatch.execution")
            for target, _ in imports(name) if _under(target, "modelwatch.services")}
    assert used <= {"modelwatch.services.metrics"}  # counters, not a use case


def test_no_function_level_import_of_our_own_modules_outside_the_sandboxed_core():
    lazy = sorted(f"{name} imports {target} inside a function" for name in MODULES
                  if not any(_under(name, allowed) for allowed in LAZY_ALLOWED)
                  for target, in_function in imports(name) if in_function and _project(target))
    assert lazy == []
