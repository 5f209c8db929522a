"""What a Result section is, and the registry that every layer iterates instead of keeping its own list.

A ``Section`` declares once what every layer knows of it: its key in the Result, its title, the marshmallow schema
of its part of the Result, the metric paths gates may name, its streamed headline, what it adds to the flat
metrics, and when the suite starts it. Each layer binds its own piece of every section with ``Registry.bind``: the
suite its ``compute`` (so that the web process, which never computes, does not import the numeric stack), the
figures their builders, the run page its tab renderer. ``bind`` refuses a mapping that misses a section or names
an unknown one: a section without its compute, figures or tab is an error when the module that binds them is
imported, not a gap in a report.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from marshmallow import Schema

from modelwatch.core.sections.metrics import no_detail_rows, no_key_metrics

T = TypeVar("T")
FRAME_KEYS = ("schema", "data", "model", "verdict")  # Result keys that are not sections


class RegistryError(Exception):
    """A section declaration, or a layer's binding of the sections, is incomplete or inconsistent."""


@dataclass(frozen=True)
class Section:
    """One Result section, declared once.

    Attributes:
        name: its key in the Result (and in gate paths, headlines, tab and anchor ids).
        title: its heading in the HTML report and the label of its tab on the run page.
        schema: the marshmallow schema of its part of the Result (documents it in the OpenAPI document).
        headline: ``headline(section) -> dict``, the few numbers streamed while the other sections compute.
        metric_paths: the paths under ``<name>.`` that ``config.thresholds`` may name; ``<batch>`` stands for
            each of ``config.batch_sizes``.
        start: lower starts earlier; the ``alone`` sections run first, one after the other, then the others
            share the cores.
        alone: run with nothing else running (its timings must not be disturbed).
        needs: the sections whose result it reads: it starts once they are done.
        awaits: the sections whose result it reads only late in its compute (``SuiteContext.result_of``): it may
            start before they are done and waits for them then. They start earlier (a lower ``start``) and need
            nothing it does not need, so a worker never waits for a section queued behind it.
        absent: why it holds ``null`` when ``compute`` returned None; None when it always computes.
        key_metrics: ``key_metrics(section) -> {metric: number}``, the numbers a reader compares first
            (``core.results.report.headline_metrics``: the report's summary, comparisons between runs).
        detail_rows: ``detail_rows(section) -> [(metric, value)]``, per-feature or per-case rows of ``metrics.csv``
            that the generic walk of the section skips.
    """

    name: str
    title: str
    schema: type[Schema]
    headline: Callable[[dict[str, Any]], dict[str, Any]]
    metric_paths: tuple[str, ...] = ()
    start: int = 0
    alone: bool = False
    needs: tuple[str, ...] = ()
    awaits: tuple[str, ...] = ()
    absent: str | None = None
    key_metrics: Callable[[dict[str, Any]], dict[str, float]] = no_key_metrics
    detail_rows: Callable[[dict[str, Any]], list[tuple[str, Any]]] = no_detail_rows

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or self.name in FRAME_KEYS:
            raise RegistryError(f"Section name {self.name!r} must be an identifier and not one of {FRAME_KEYS}.")
        if not all(callable(f) for f in (self.headline, self.key_metrics, self.detail_rows)):
            raise RegistryError(f"Section {self.name!r}: headline, key_metrics and detail_rows must be callables.")
        if not (isinstance(self.schema, type) and issubclass(self.schema, Schema)):
            raise RegistryError(f"Section {self.name!r}: schema must be a marshmallow Schema class.")
        if isinstance(self.metric_paths, str) or not all(isinstance(p, str) and p for p in self.metric_paths):
            raise RegistryError(f"Section {self.name!r}: metric_paths must be a tuple of non-empty paths.")

    def gate_paths(self, batches: Iterable[str]) -> list[str]:
        """Its metric paths in full (``<name>.<path>``), ``<batch>`` expanded over ``batches``."""
        batches = list(batches)
        paths = []
        for path in self.metric_paths:
            expanded = [path.replace("<batch>", b) for b in batches] if "<batch>" in path else [path]
            paths += [f"{self.name}.{p}" for p in expanded]
        return paths


class Registry(Mapping[str, Section]):
    """The sections of a Result in the Result's order; a read-only mapping from name to ``Section``."""

    def __init__(self, sections: Iterable[Section]) -> None:
        self._sections: dict[str, Section] = {}
        for section in sections:
            if section.name in self._sections:
                raise RegistryError(f"Section {section.name!r} is declared twice.")
            self._sections[section.name] = section
        for section in self._sections.values():
            unknown = [need for need in section.needs if need not in self._sections]
            if unknown or section.name in section.needs:
                raise RegistryError(f"Section {section.name!r} needs unknown section(s): {unknown or [section.name]}.")
            if section.alone and (section.needs or section.awaits):
                raise RegistryError(f"Section {section.name!r} runs alone: it cannot wait for "
                                    f"{section.needs + section.awaits}.")
            late = [name for name in section.awaits if name not in self._sections or self._sections[name].alone
                    or self._sections[name].start >= section.start
                    or not set(self._sections[name].needs) <= set(section.needs)]
            if late:
                raise RegistryError(f"Section {section.name!r} awaits {late}: each must be a shared section that "
                                    "starts earlier and needs nothing it does not need.")
        self._check_no_cycle()

    def _check_no_cycle(self) -> None:
        """A section that waits, through its needs, for itself would never start."""
        done: set[str] = set()
        while len(done) < len(self._sections):
            ready = [n for n, s in self._sections.items() if n not in done and set(s.needs) <= done]
            if not ready:
                raise RegistryError(f"Sections wait for each other: {sorted(set(self._sections) - done)}.")
            done.update(ready)

    def __getitem__(self, name: str) -> Section:
        return self._sections[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sections)

    def __len__(self) -> int:
        return len(self._sections)

    def extended(self, *sections: Section) -> Registry:
        """A new registry with ``sections`` added at the end (this one is left as it is)."""
        return Registry([*self.values(), *sections])

    def bind(self, piece: str, mapping: Mapping[str, T]) -> dict[str, T]:
        """A layer's ``piece`` of every section, in the registry's order.

        Args:
            piece: what the mapping holds, for the error message (e.g. ``"figure builders"``).
            mapping: section name -> that section's piece.

        Raises:
            RegistryError: a section has no piece, or the mapping names a section that is not registered.
        """
        missing = [name for name in self if name not in mapping]
        unknown = [name for name in mapping if name not in self]
        if missing or unknown:
            raise RegistryError(f"The {piece} do not match the section registry: "
                                f"missing for {missing or 'none'}, unknown {unknown or 'none'}.")
        return {name: mapping[name] for name in self}
