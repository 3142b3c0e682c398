"""Evaluation: every gate checked against summary.json `results` and the per-sample records, one outcome each."""

from __future__ import annotations

from infill.benchmarks import BENCHMARKS
from infill.common.formatting import percent
from infill.reporting.gates.spec import (
    COUNT_METRICS,
    Gate,
    GateOutcome,
    GateSet,
    MustPass,
)

FLOAT_SLACK = 1e-9          # rounding noise only; not a tolerance
LISTED_SAMPLES = 10         # how many failing sample ids a message names before "and N more"


def evaluate_gates(gates: GateSet, results: list[dict], records: list[dict]) -> list[GateOutcome]:
    """Check every gate against summary.json `results` and the per-sample records; one outcome per gate."""
    by_metric = {(r["benchmark"], r["model"], r["metric"]): r for r in results}
    by_pair: dict[tuple[str, str], dict] = {}
    for r in results:
        by_pair.setdefault((r["benchmark"], r["model"]), r)
    models_on = lambda benchmark: sorted({r["model"] for r in results if r["benchmark"] == benchmark})
    outcomes = [_check_threshold(g, by_metric, by_pair, models_on) for g in gates.gates]
    by_sample = {(r["benchmark"], r["model"], r["sample_id"]): r for r in records}
    outcomes += [_check_must_pass(m, by_sample, by_pair, models_on) for m in gates.must_pass]
    return outcomes



def _needs(gate: Gate) -> str:
    sign = ">=" if gate.direction == "at_least" else "<="
    if gate.is_count:
        return f"{sign} {gate.bound:g}" + (f" ({gate.threshold:g} + {gate.tolerance:g})" if gate.tolerance else "")
    exact = f" = {gate.threshold_text}" if "/" in gate.threshold_text else ""
    if not gate.tolerance:
        return f"{sign} {percent(gate.threshold)}" + (f" ({exact[3:]})" if exact else "")
    op = "minus" if gate.direction == "at_least" else "plus"
    return f"{sign} {percent(gate.bound)} ({percent(gate.threshold)}{exact} {op} {100 * gate.tolerance:.2f} pp tolerance)"


def _no_result(name: str, kind: str, benchmark: str, model: str, metric: str | None, optional: bool,
               models_on) -> GateOutcome:
    what = f"{benchmark} / {model}" + (f" / {metric}" if metric else "")
    present = models_on(benchmark)
    if optional:
        return GateOutcome(name, kind, "skip", f"gate {name!r} skipped: no {what} result in this run (optional gate)",
                           benchmark, model, metric, shown="no result")
    found = f"models with {benchmark} results: {', '.join(present)}" if present else f"{benchmark} did not run"
    return GateOutcome(name, kind, "fail",
                       f"gate {name!r} cannot be checked: no {what} result in this run ({found}); select it with "
                       f"--infill-models / --infill-benchmarks, or mark the gate optional = true",
                       benchmark, model, metric, shown="no result")


def _check_threshold(gate: Gate, by_metric: dict, by_pair: dict, models_on) -> GateOutcome:
    if gate.metric in COUNT_METRICS or gate.metric == "edit_similarity":
        result = by_pair.get((gate.benchmark, gate.model))
    else:
        result = by_metric.get((gate.benchmark, gate.model, gate.metric))
    if result is None:
        return _no_result(gate.name, "threshold", gate.benchmark, gate.model, gate.metric, gate.optional, models_on)
    n = result["n"]
    if gate.is_count:
        measured = float(result[gate.metric])
        shown = f"{result[gate.metric]} of {n}"
    elif gate.metric == "edit_similarity":
        measured = float(result["edit_similarity"])
        shown = f"{measured:.4f}"
    else:
        measured = float(result["value"])
        shown = f"{percent(measured)} ({result['passed']}/{n})"
    needs = _needs(gate)
    common = dict(measured=measured, threshold=gate.threshold, tolerance=gate.tolerance, direction=gate.direction,
                  n=n, expected_n=gate.n, needs=needs, shown=shown)
    if result.get("partial"):
        return GateOutcome(gate.name, "threshold", "fail",
                           f"gate {gate.name!r} not comparable: {gate.model} on {gate.benchmark} is a PARTIAL replay "
                           f"(its file lacks some selected samples): give the whole generations file",
                           gate.benchmark, gate.model, gate.metric, **common)
    if gate.n is not None and n != gate.n:
        size = result.get("dataset_size", BENCHMARKS[gate.benchmark].size)
        selection = (f"the full benchmark of {size}", "run it whole (no --infill-limit, no -k)") if gate.n == size \
            else (f"the first {gate.n} of {size}", f"run with --infill-limit {gate.n} and no -k")
        return GateOutcome(gate.name, "threshold", "fail",
                           f"gate {gate.name!r} not comparable: measured {shown} on n = {n} samples, but the gate was "
                           f"written for n = {gate.n} ({selection[0]}): {selection[1]}, or use a gates file written "
                           f"for n = {n}",
                           gate.benchmark, gate.model, gate.metric, **common)
    holds = (measured >= gate.bound - FLOAT_SLACK) if gate.direction == "at_least" \
        else (measured <= gate.bound + FLOAT_SLACK)
    verdict = "holds" if holds else "FAILED"
    return GateOutcome(gate.name, "threshold", "pass" if holds else "fail",
                       f"gate {gate.name!r} {verdict}: measured {shown}, needs {needs}",
                       gate.benchmark, gate.model, gate.metric, **common)


def _check_must_pass(rule: MustPass, by_sample: dict, by_pair: dict, models_on) -> GateOutcome:
    if (rule.benchmark, rule.model) not in by_pair:
        return _no_result(rule.name, "must_pass", rule.benchmark, rule.model, rule.metric, rule.optional, models_on)
    failing: list[tuple[str, str]] = []     # (sample id, why)
    for sample_id in rule.samples:
        record = by_sample.get((rule.benchmark, rule.model, sample_id))
        if record is None:
            failing.append((sample_id, "not graded in this run: outside --infill-limit or -k"))
        elif not (record["correct"] if rule.metric in (None, "pass@1") else record.get(rule.metric)):
            detail = f"{record['status']}: {record['detail']}" if record.get("detail") else record["status"]
            failing.append((sample_id, detail[:80]))
    total, passing = len(rule.samples), len(rule.samples) - len(failing)
    needs = f"all {total} listed samples pass" + (f" ({rule.metric})" if rule.metric else "")
    common = dict(measured=float(passing), threshold=float(total), tolerance=0.0, direction="at_least", n=total,
                  needs=needs, shown=f"{passing}/{total} pass", failing_samples=[s for s, _ in failing])
    if not failing:
        return GateOutcome(rule.name, "must_pass", "pass", f"gate {rule.name!r} holds: all {total} listed samples pass",
                           rule.benchmark, rule.model, rule.metric, **common)
    listed = "; ".join(f"{s} ({why})" for s, why in failing[:LISTED_SAMPLES])
    listed += f"; and {len(failing) - LISTED_SAMPLES} more" if len(failing) > LISTED_SAMPLES else ""
    return GateOutcome(rule.name, "must_pass", "fail",
                       f"gate {rule.name!r} FAILED: {len(failing)} of {total} samples that must pass did not: {listed}",
                       rule.benchmark, rule.model, rule.metric, **common)
