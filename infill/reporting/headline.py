"""The headline of each benchmark, for report.md's first screen and summary.json `headlines`: the best real model on
the benchmark's headline metric (its kind's first metric) with its interval, the gap to the next real model and
whether the two are distinguishable on the samples both were graded on (McNemar's exact test, paired), and the
highest row of any kind when that is not a real model (an ensemble, or a smoke-derived row), with its caveat.

Real models are those infill.reporting.roles calls real: ensembles copy their members' completions and smoke rows
score near zero by design, so neither is "the best model".
"""

from __future__ import annotations

from infill.benchmarks import BENCHMARKS, kind_of
from infill.common.statistics import mcnemar_exact
from infill.reporting.records import sample_outcome
from infill.reporting.roles import REAL, REFERENCE, caveat_of, group_of

ALPHA = 0.05        # "distinguishable": McNemar's exact two-sided p below this


def headline_metric(benchmark: str) -> str:
    return kind_of(benchmark).metrics[0] if benchmark in BENCHMARKS else "pass@1"


def _row(result: dict, roles: dict[str, dict]) -> dict:
    return {"model": result["model"], "value": result["value"], "passed": result["passed"], "n": result["n"],
            "ci95": result["ci95"], "group": group_of(result["model"], roles),
            "caveat": caveat_of(result["model"], roles), "partial": bool(result.get("partial"))}


def paired_test(records: list[dict], a: str, b: str, metric: str) -> dict | None:
    """McNemar's exact test of a against b on the samples both were graded on (None: no shared sample)."""
    outcomes: dict[str, dict[str, bool | None]] = {a: {}, b: {}}
    for record in records:
        if record["model"] in outcomes:
            outcomes[record["model"]][record["sample_id"]] = sample_outcome(record, metric)
    shared = [s for s in outcomes[a] if s in outcomes[b]
              and outcomes[a][s] is not None and outcomes[b][s] is not None]
    if not shared:
        return None
    only_a = sum(outcomes[a][s] and not outcomes[b][s] for s in shared)
    only_b = sum(outcomes[b][s] and not outcomes[a][s] for s in shared)
    p = mcnemar_exact(only_a, only_b)
    return {"n": len(shared), "only_best": only_a, "only_runner_up": only_b, "mcnemar_p": p,
            "distinguishable": p < ALPHA}


def benchmark_headline(benchmark: str, results: list[dict], records: list[dict], roles: dict[str, dict]) -> dict:
    """The headline of one benchmark from its results (summary.json rows) and records."""
    metric = headline_metric(benchmark)
    rows = sorted((_row(r, roles) for r in results if r["benchmark"] == benchmark and r["metric"] == metric
                   and group_of(r["model"], roles) != REFERENCE),
                  key=lambda row: (-row["value"], -row["passed"], row["model"]))
    real = [row for row in rows if row["group"] == REAL]
    best = real[0] if real else None
    runner_up = real[1] if len(real) > 1 else None
    top = rows[0] if rows else None
    any_n = [r for r in results if r["benchmark"] == benchmark]
    return {
        "benchmark": benchmark, "metric": metric, "alpha": ALPHA,
        "n": max((r["n"] for r in any_n), default=0),
        "dataset_size": any_n[0]["dataset_size"] if any_n else None,
        "real_models": len(real), "best": best, "runner_up": runner_up,
        "gap": best["value"] - runner_up["value"] if runner_up else None,
        "paired": paired_test([r for r in records if r["benchmark"] == benchmark], best["model"],
                              runner_up["model"], metric) if runner_up else None,
        # the highest row of any kind, when it is not the best real model (an ensemble, or a smoke-derived row)
        "top_row": top if top is not None and (best is None or top["value"] > best["value"]) else None,
    }


def benchmark_headlines(records: list[dict], results: list[dict], roles: dict[str, dict]) -> list[dict]:
    """One headline per benchmark, in the results' benchmark order."""
    benchmarks = list(dict.fromkeys(r["benchmark"] for r in results))
    return [benchmark_headline(b, results, records, roles) for b in benchmarks]
