"""The statistics of a difference between two pass rates: the Newcombe intervals (paired and unpaired) and the
pooled two-proportion z-test. The paired test, McNemar's exact test, is infill.analysis.significance's."""

from __future__ import annotations

import math

from infill.stats import wilson_interval


def paired_interval(both: int, gains: int, losses: int, neither: int) -> tuple[float, float]:
    """95% interval for p_run - p_base on paired samples (Newcombe 1998, method 10: Wilson intervals of the two
    margins, combined with the phi correlation of the 2x2 table). gains = failed in the baseline, passed in the
    run; losses = the reverse."""
    n = both + gains + losses + neither
    if n == 0:
        return 0.0, 0.0
    p_run, p_base = (both + gains) / n, (both + losses) / n
    l_run, u_run = wilson_interval(both + gains, n)
    l_base, u_base = wilson_interval(both + losses, n)
    denominator = (both + gains) * (losses + neither) * (both + losses) * (gains + neither)
    phi = (both * neither - gains * losses) / math.sqrt(denominator) if denominator else 0.0
    delta = p_run - p_base
    below = math.sqrt(max(0.0, (p_run - l_run) ** 2 - 2 * phi * (p_run - l_run) * (u_base - p_base)
                          + (u_base - p_base) ** 2))
    above = math.sqrt(max(0.0, (u_run - p_run) ** 2 - 2 * phi * (u_run - p_run) * (p_base - l_base)
                          + (p_base - l_base) ** 2))
    return max(-1.0, delta - below), min(1.0, delta + above)


def unpaired_interval(passed_base: int, n_base: int, passed_run: int, n_run: int) -> tuple[float, float]:
    """95% interval for p_run - p_base from independent samples (Newcombe 1998, method 10 for independent
    proportions: the hybrid score interval built from the two Wilson intervals)."""
    p_base, p_run = passed_base / n_base, passed_run / n_run
    l_base, u_base = wilson_interval(passed_base, n_base)
    l_run, u_run = wilson_interval(passed_run, n_run)
    delta = p_run - p_base
    return (delta - math.sqrt((p_run - l_run) ** 2 + (u_base - p_base) ** 2),
            delta + math.sqrt((u_run - p_run) ** 2 + (p_base - l_base) ** 2))


def two_proportion_p(passed_base: int, n_base: int, passed_run: int, n_run: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test (1 when both runs are all-pass or all-fail)."""
    pooled = (passed_base + passed_run) / (n_base + n_run)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_base + 1 / n_run))
    if se == 0:
        return 1.0
    z = (passed_run / n_run - passed_base / n_base) / se
    return math.erfc(abs(z) / math.sqrt(2))
