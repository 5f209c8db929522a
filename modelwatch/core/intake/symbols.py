"""The symbolic values of the opcode walk: what a pickle would build, kept without building (or hashing) it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class Global:
    """A global the file names; ``usage`` collects how it is used: ``new``, ``call`` or ``value``."""

    module: str
    name: str
    usage: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(eq=False)
class Obj:
    """The symbolic result of a call or instantiation."""

    source: Any
    args: Any = None
    state: Any = None


@dataclass(eq=False)
class SymDict:
    items: list[tuple[Any, Any]] = field(default_factory=list)

    def get(self, key: str) -> Any:
        for k, v in self.items:
            if isinstance(k, str) and k == key:  # never compare attacker-built structures
                return v
        return None


@dataclass(eq=False)
class SymSet:
    """A set or frozenset, kept as the list of its items: building a real set would hash them."""

    items: list[Any] = field(default_factory=list)


def nesting_depth(top: Any, limit: int) -> int:
    """How deep the symbolic value nests (iteratively, each object once); stops counting past ``limit``."""
    deepest = 0
    seen: set[int] = set()
    todo: list[tuple[Any, int]] = [(top, 1)]
    while todo:
        value, depth = todo.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        todo.extend((child, depth + 1) for child in _children(value) if isinstance(child, _NESTING))
    return deepest


_NESTING = (list, tuple, SymSet, SymDict, Obj)


def _children(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, SymSet):
        return value.items
    if isinstance(value, SymDict):
        return [x for pair in value.items for x in pair]
    if isinstance(value, Obj):
        return [value.args, value.state]
    return []
