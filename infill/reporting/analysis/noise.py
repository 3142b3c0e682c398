"""Seed noise with n samples per task: does a gap between two models exceed what sampling alone moves?

Per model (n >= 2): its pass@1 as n single-sample runs (sample j of every task is one run: its own seeded
streams), their spread, and a 95% interval of pass@1 from a bootstrap over tasks of the per-task pass fractions.
Per pair of models: the mean difference of per-task fractions on the tasks both were graded on, its paired bootstrap
interval, and a two-sided sign-flip permutation test (under "no difference", each task's difference is as likely
negative as positive). A gap is called distinguishable from seed noise when the interval excludes 0 and p < 0.05.
"""

from __future__ import annotations

import statistics

import numpy as np

from infill.common.statistics import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED
from infill.reporting.pass_at_k import bootstrap_interval

NOISE_VERSION = "noise-v1"
PERMUTATIONS = 10000
ALPHA = 0.05


def fractions(records: list[dict]) -> dict[str, float]:
    """sample id -> pass fraction over the task's samples (a record without samples: its one verdict)."""
    return {r["sample_id"]: r.get("pass_fraction", float(bool(r["correct"]))) for r in records}


def run_rates(records: list[dict]) -> list[float]:
    """The pass rate of each single-sample run j (sample j of every task)."""
    n = records[0]["n_samples"]
    return [sum(bool(r["samples"][j]["correct"]) for r in records) / len(records) for j in range(n)]


def model_noise(records: list[dict]) -> dict:
    rates = run_rates(records)
    values = list(fractions(records).values())
    low, high = bootstrap_interval(values)
    return {"n_samples": records[0]["n_samples"], "tasks": len(records), "pass_at_1": sum(values) / len(values),
            "run_rates": rates, "spread": {"min": min(rates), "max": max(rates), "std": statistics.pstdev(rates)},
            "ci95": [low, high]}


def paired_difference(a: dict[str, float], b: dict[str, float]) -> dict:
    shared = sorted(set(a) & set(b))
    diff = np.array([a[s] - b[s] for s in shared])
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    means = diff[rng.integers(0, len(diff), size=(BOOTSTRAP_RESAMPLES, len(diff)))].mean(axis=1)
    low, high = (float(v) for v in np.percentile(means, [2.5, 97.5]))
    signs = rng.choice((-1.0, 1.0), size=(PERMUTATIONS, len(diff)))
    observed = abs(diff.mean())
    p = float((np.sum(np.abs((signs * diff).mean(axis=1)) >= observed - 1e-12) + 1) / (PERMUTATIONS + 1))
    distinguishable = (low > 0 or high < 0) and p < ALPHA
    return {"tasks": len(shared), "difference": float(diff.mean()), "ci95": [low, high], "p_value": p,
            "distinguishable": bool(distinguishable)}


def noise_analysis(records: list[dict]) -> dict:
    """For one benchmark: each model with n >= 2 samples per task, and every pair of them."""
    by_model: dict[str, list[dict]] = {}
    for record in records:
        if record.get("n_samples", 1) >= 2 and "samples" in record:
            by_model.setdefault(record["model"], []).append(record)
    models = sorted(by_model)
    pairs = [{"a": a, "b": b, **paired_difference(fractions(by_model[a]), fractions(by_model[b]))}
             for i, a in enumerate(models) for b in models[i + 1:]]
    return {"version": NOISE_VERSION, "models": {m: model_noise(by_model[m]) for m in models}, "pairs": pairs}


def statement(pair: dict) -> str:
    """The gap in words, for the report."""
    gap = 100 * pair["difference"]
    low, high = (100 * v for v in pair["ci95"])
    leader, other = (pair["a"], pair["b"]) if gap >= 0 else (pair["b"], pair["a"])
    verdict = "is distinguishable from seed noise" if pair["distinguishable"] else \
        "is within seed noise (not distinguishable)"
    return (f"{leader} leads {other} by {abs(gap):.2f} points of pass@1 over {pair['tasks']} tasks: the gap {verdict} "
            f"(95% paired bootstrap interval of {pair['a']} - {pair['b']}: [{low:.2f}, {high:.2f}] points, "
            f"sign-flip permutation p = {pair['p_value']:.3g}).")
