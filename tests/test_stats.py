import math

import pytest

from infill.stats import pass_at_k, wilson_interval


def test_pass_at_1_is_the_fraction():
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(1, 1, 1) == 1.0
    assert pass_at_k(1, 0, 1) == 0.0


def test_pass_at_k_matches_the_closed_form():
    n, c, k = 20, 5, 5
    assert pass_at_k(n, c, k) == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k))


def test_wilson_interval():
    low, high = wilson_interval(790, 1033)
    assert low < 790 / 1033 < high
    assert low == pytest.approx(0.737946, abs=1e-6) and high == pytest.approx(0.789618, abs=1e-6)  # mpmath
    assert wilson_interval(0, 0) == (0.0, 0.0)
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and 0.25 < high < 0.35
