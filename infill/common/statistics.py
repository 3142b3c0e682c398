"""The project's statistics, in one place: the Wilson interval of a pass rate; McNemar's exact test, Newcombe's
intervals and the two-proportion z-test for a difference between two pass rates; Pearson correlation, ROC-AUC and its
bootstrap interval for the ensemble analyses.

Each function returns None (not NaN) when its statistic is undefined for the data (no discordant pairs is defined:
p = 1; a constant input or a single class is not). Written here rather than taken from scipy/statsmodels where the
library has no exact integer McNemar or no Newcombe interval (scipy has neither); scipy is used where it has the
statistic (pearsonr, rankdata)."""

from __future__ import annotations

import math

import numpy as np

BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 20250101          # fixed: the same records give the same interval on every run and machine
BOOTSTRAP_CHUNK = 100              # resamples drawn at a time, bounding memory on large benchmarks


def mcnemar_exact(only_a_correct: int, only_b_correct: int) -> float:
    """Two-sided exact McNemar p-value: under H0 each discordant sample is a fair coin, so p is twice the
    smaller binomial tail of Binomial(b + c, 1/2), capped at 1. Integer arithmetic: exact for any n."""
    b, c = int(only_a_correct), int(only_b_correct)
    n = b + c
    if n == 0:
        return 1.0
    # C(n, k + 1) = C(n, k) * (n - k) / (k + 1), exact in integers: one pass instead of a comb() per term
    term, tail = 1, 1
    for k in range(min(b, c)):
        term = term * (n - k) // (k + 1)
        tail += term
    return min(1.0, 2 * tail / 2 ** n)


def pearson(x: list[float], y: list[float]) -> dict:
    """Pearson r with its two-sided p-value (scipy); r and p are None for fewer than 3 pairs or a constant
    input, where the correlation is undefined."""
    from scipy import stats
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(xs)
    if n < 3 or np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return {"r": None, "p_value": None, "n": n}
    result = stats.pearsonr(xs, ys)
    return {"r": float(result.statistic), "p_value": float(result.pvalue), "n": n}


def roc_auc(scores: list[float], labels: list[bool]) -> float | None:
    """Probability that a random positive scores above a random negative, ties counting one half (the
    Mann-Whitney form). -inf is a valid score (ranked lowest). None when either class is empty."""
    values = np.asarray(scores, dtype=float)
    positive = np.asarray(labels, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    from scipy.stats import rankdata
    ranks = rankdata(values)                       # average ranks: ties share, which gives the 1/2
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def bootstrap_auc_interval(scores: list[float], labels: list[bool], resamples: int = BOOTSTRAP_RESAMPLES,
                           seed: int = BOOTSTRAP_SEED, level: float = 0.95) -> dict:
    """Percentile bootstrap interval of `roc_auc` over samples drawn with replacement. Resamples that hold only
    one class have no AUC and are skipped (their count is reported as `resamples_used`).

    Vectorised: scores are reduced to their distinct levels once; each resample is then counts of positives
    and negatives per level, and the AUC is sum(pos * (negatives below + half the negatives tied)) / (P * N)."""
    values = np.asarray(scores, dtype=float)
    positive = np.asarray(labels, dtype=bool)
    n = len(values)
    empty = {"low": None, "high": None, "resamples": resamples, "resamples_used": 0, "seed": seed}
    if n == 0 or positive.all() or not positive.any():
        return empty
    levels, level_of = np.unique(values, return_inverse=True)
    k = len(levels)
    rng = np.random.default_rng(seed)
    aucs = []
    for first in range(0, resamples, BOOTSTRAP_CHUNK):
        count = min(BOOTSTRAP_CHUNK, resamples - first)
        picks = rng.integers(0, n, size=(count, n))
        slot = np.arange(count)[:, None] * k + level_of[picks]
        is_pos = positive[picks]
        pos_counts = np.bincount(slot[is_pos], minlength=count * k).reshape(count, k)
        neg_counts = np.bincount(slot[~is_pos], minlength=count * k).reshape(count, k)
        neg_below = np.cumsum(neg_counts, axis=1) - neg_counts
        wins = (pos_counts * (neg_below + 0.5 * neg_counts)).sum(axis=1)
        pairs = pos_counts.sum(axis=1) * neg_counts.sum(axis=1)
        valid = pairs > 0
        aucs.append(wins[valid] / pairs[valid])
    aucs = np.concatenate(aucs)
    if len(aucs) == 0:
        return empty
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(aucs, [tail, 100 - tail])
    return {"low": float(low), "high": float(high), "resamples": resamples, "resamples_used": int(len(aucs)),
            "seed": seed}


def wilson_interval(passed: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95% Wilson score interval for a binomial proportion; (0, 0) for n == 0. Better than the normal
    approximation near 0 and 1, where small benchmarks and tiny models live."""
    if n == 0:
        return 0.0, 0.0
    p = passed / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


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
