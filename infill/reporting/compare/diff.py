"""Comparing a run with the baseline, row by row: paired on the samples both graded when both have samples.jsonl,
unpaired otherwise."""

from __future__ import annotations

from dataclasses import dataclass

from infill.common.statistics import (
    mcnemar_exact,
    paired_interval,
    two_proportion_p,
    unpaired_interval,
)
from infill.reporting.compare.runs import Run, check_like_with_like
from infill.reporting.records import sample_outcome

ALPHA = 0.05


def figure(passed: int, n: int) -> dict:
    return {"value": passed / n if n else 0.0, "passed": passed, "n": n}


@dataclass
class Row:
    key: tuple[str, str, str]
    base: dict                          # the full runs' summary.json rows
    run: dict
    base_compared: dict                 # {value, passed, n} on the samples the delta is computed on: the shared
    run_compared: dict                  # samples when paired, the full runs when unpaired
    delta: float
    interval: tuple[float, float]
    p_value: float
    paired_n: int | None                # samples both runs graded; None: unpaired
    regressions: list[str]              # sample ids: passed in the baseline, failed in the run
    fixes: list[str]
    alpha: float

    @property
    def significant(self) -> bool:
        return self.p_value < self.alpha and self.delta != 0

    @property
    def verdict(self) -> str:
        if not self.significant:
            return "not significant"
        return "**significantly worse**" if self.delta < 0 else "**significantly better**"


def compare_row(key, base: Run, run: Run, alpha: float) -> Row:
    a, b = base.results[key], run.results[key]
    pair = key[:2]
    base_samples = (base.samples or {}).get(pair, {})
    run_samples = (run.samples or {}).get(pair, {})
    common = [s for s in base_samples if s in run_samples]
    if common and max(a.get("n_samples", 1), b.get("n_samples", 1)) > 1:
        return fraction_row(key, a, b, [task_value(base_samples[s], key[2]) for s in common],
                            [task_value(run_samples[s], key[2]) for s in common], alpha)
    outcomes = [(sample_outcome(base_samples[s], key[2]), sample_outcome(run_samples[s], key[2])) for s in common]
    if common and all(x is not None and y is not None for x, y in outcomes):
        regressions = [s for s, (x, y) in zip(common, outcomes) if x and not y]
        fixes = [s for s, (x, y) in zip(common, outcomes) if y and not x]
        both = sum(x and y for x, y in outcomes)
        neither = len(common) - both - len(regressions) - len(fixes)
        delta = (len(fixes) - len(regressions)) / len(common)
        return Row(key, a, b, figure(both + len(regressions), len(common)), figure(both + len(fixes), len(common)),
                   delta, paired_interval(both, len(fixes), len(regressions), neither),
                   mcnemar_exact(len(regressions), len(fixes)), len(common), regressions, fixes, alpha)
    full_a, full_b = figure(a["passed"], a["n"]), figure(b["passed"], b["n"])
    if not a["n"] or not b["n"]:
        return Row(key, a, b, full_a, full_b, 0.0, (0.0, 0.0), 1.0, None, [], [], alpha)
    delta = b["passed"] / b["n"] - a["passed"] / a["n"]
    return Row(key, a, b, full_a, full_b, delta, unpaired_interval(a["passed"], a["n"], b["passed"], b["n"]),
               two_proportion_p(a["passed"], a["n"], b["passed"], b["n"]), None, [], [], alpha)


def task_value(record: dict, metric: str) -> float:
    """A task's figure with n samples: its pass fraction (or an EM rule's mean over candidates), or its pass@k."""
    samples = record.get("samples") or [record]
    if metric.startswith("pass@") and metric != "pass@1":
        from infill.reporting.pass_at_k import per_task_pass_at_k
        return per_task_pass_at_k(len(samples), [sum(bool(s["correct"]) for s in samples)], int(metric[5:]))[0]
    field = "correct" if metric == "pass@1" else metric
    return sum(bool(s.get(field)) for s in samples) / len(samples)


def fraction_row(key, a: dict, b: dict, base: list[float], run: list[float], alpha: float) -> Row:
    """Paired on per-task figures (n samples per task): bootstrap interval and sign-flip permutation test."""
    from infill.reporting.analysis.noise import paired_difference
    test = paired_difference(dict(enumerate(run)), dict(enumerate(base)))
    return Row(key, a, b, test["difference"], tuple(test["ci95"]), test["p_value"], test["tasks"], [], [], alpha)


@dataclass
class Comparison:
    base: Run
    run: Run
    rows: list[Row]
    only_base: list[tuple[str, str, str]]
    only_run: list[tuple[str, str, str]]

    @property
    def drops(self) -> list[Row]:
        return [r for r in self.rows if r.significant and r.delta < 0]

    @property
    def gains(self) -> list[Row]:
        return [r for r in self.rows if r.significant and r.delta > 0]


def compare(base: Run, run: Run, alpha: float = ALPHA) -> Comparison:
    check_like_with_like(base, run)
    shared = [k for k in base.results if k in run.results]
    return Comparison(base, run, [compare_row(k, base, run, alpha) for k in shared],
                      [k for k in base.results if k not in run.results],
                      [k for k in run.results if k not in base.results])
