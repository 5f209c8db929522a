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
