"""The web process's static scan refuses every scan-level hostile file, in bounded time, without crashing."""
from __future__ import annotations

import time

import pytest

from modelwatch.core.intake import scan
from modelwatch.core.intake.allowlist import load_allowlist
from modelwatch.core.intake.formats import decompress, sniff_format
from modelwatch.core.intake.unpickler import restricted_loads
from modelwatch.errors import ModelwatchError

# Files whose refusal by the loader comes before it builds any object of the file (a name check or our own stub).
REFUSED_BEFORE_ANY_OBJECT = ("global_with_space", "global_dotted_name", "global_non_ascii", "stack_global_nul",
                             "inst_with_tab", "framed_array_wrapper")
CEILING_S = 60  # far above the bounded walk on a busy machine, far below the quadratic one


def _code(data: bytes) -> str:
    try:
        scan(data, sniff_format(data))
    except ModelwatchError as exc:
        return exc.code
    return "accepted"


def test_the_corpus_covers_every_scan_level_class(scan_corpus):
    names = set(scan_corpus)
    for part in ("frozenset", "marks", "mark_pop_mark", "opcode_flood", "global", "framed", "dtype", "bz2", "xz",
                 "gzip", "lz4", "skops_bzip2", "skops_declared", "skops_function_as_object", "nested_wrapper"):
        assert any(part in name for name in names), part


def test_scan_refuses_each_file_in_bounded_time(scan_corpus):
    wrong = []
    for case in scan_corpus.values():
        started = time.perf_counter()
        code = _code(case.data)
        elapsed = time.perf_counter() - started
        if code not in case.allowed or elapsed > CEILING_S:
            wrong.append((case.name, code, round(elapsed, 1)))
    assert wrong == []


@pytest.mark.parametrize("name", REFUSED_BEFORE_ANY_OBJECT)
def test_the_unpickler_refuses_the_same_names_on_its_own(scan_corpus, name):
    """Defence in depth: the loader reads the bytes the same way and refuses before building anything."""
    data = scan_corpus[name].data
    with pytest.raises(ModelwatchError) as info:
        restricted_loads(decompress(data, sniff_format(data)), load_allowlist())
    assert info.value.code in ("unsafe_model", "corrupt_model")
