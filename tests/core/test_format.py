"""The formatting layer: significant digits, separators, signs and absent values, never scientific notation."""
import math

import pytest

from modelwatch.figures.format import number, percent, signed


@pytest.mark.parametrize(("value", "expected"), [
    (35990.0, "36,000"), (0.000123456, "0.000123"), (1.0, "1"), (0.1 + 0.2, "0.3"), (-1234.5, "−1,230"),
    (12.345, "12.3"), (0, "0"), (None, "—"), (math.nan, "—"), (math.inf, "∞"), (-math.inf, "−∞"),
    (7, "7"), (True, "True"), ("abc", "abc"), (123456789, "123,000,000"),
])
def test_number_reads_plainly(value, expected):
    assert number(value) == expected


def test_number_never_uses_scientific_notation():
    for exponent in range(-12, 16):
        assert "e" not in number(1.23456 * 10 ** exponent)


def test_units_percent_and_sign():
    assert number(12.345, unit="ms") == "12.3 ms"
    assert percent(0.04567) == "4.57%"
    assert percent(None) == "—"
    assert signed(0.23) == "+0.23"
    assert signed(-1.5, unit="ms") == "−1.5 ms"
    assert signed(0) == "0"
    assert signed(None) == "—"


def test_durations_relative_times_and_sizes():
    from datetime import datetime, timedelta

    from modelwatch.figures.format import absolute_time, bytes_, duration, relative_time

    assert [duration(s) for s in (0.85, 12.34, 245, 7380, None)] == ["850 ms", "12.3 s", "4 min 05 s", "2 h 03 min",
                                                                     "—"]
    now = datetime(2026, 12, 6, 5, 0, 0)
    ago = [relative_time(now - timedelta(seconds=s), now) for s in (20, 180, 5 * 3600, 30 * 3600, 4 * 86400)]
    assert ago == ["just now", "3 min ago", "5 h ago", "yesterday", "4 days ago"]
    assert relative_time(now - timedelta(days=40), now) == "2026-10-27" and relative_time(None, now) == "—"
    assert absolute_time(now) == "2026-12-06 05:00:00 UTC"
    assert [bytes_(b) for b in (512, 87_620, 1_996_000, 3 * 1024 ** 4)] == ["512 B", "85.6 KiB", "1.9 MiB",
                                                                          "3,070 GiB"]
