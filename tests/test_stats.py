import pytest

from infill.common.statistics import wilson_interval


def test_wilson_interval():
    low, high = wilson_interval(790, 1033)
    assert low < 790 / 1033 < high
    assert low == pytest.approx(0.737946, abs=1e-6) and high == pytest.approx(0.789618, abs=1e-6)  # mpmath
    assert wilson_interval(0, 0) == (0.0, 0.0)
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and 0.25 < high < 0.35
