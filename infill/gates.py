"""Regression gates: thresholds on a run's aggregate figures (and samples that must pass), checked after the report.

A gates file is TOML (`--infill-gates FILE`, or the ini key `infill_gates`). It is read and validated when the
session starts, so a mistake in it stops the run with one line and exit code 2 before any sample is graded. After
the run, every gate is checked against summary.json's `results` and the per-sample records; the outcomes go into
report.md (a "## Gates" section), summary.json (`gates`) and the terminal, and a failing gate makes pytest exit
with status 1. xfailed samples (wrong completions) never fail a run by themselves: only gates do.

Schema (every key other than those listed is an error, so a typo cannot silently disable a check):

    [defaults]                 # optional; applies to every [[gate]] (tolerance, n, optional) and
    tolerance = 0.0            #   [[must_pass]] (optional) that does not set the key itself
    n = 1033
    optional = false

    [[gate]]                   # one threshold on one figure
    name = "..."               # optional; default "BENCHMARK / MODEL / METRIC"
    benchmark = "humaneval-single-line"     # a name from infill.benchmarks.BENCHMARKS (no groups)
    model = "open-dcoder-0.5B"              # a row of the report (MODEL, MODEL/POLICY, ENSEMBLE/STRATEGY)
    metric = "pass@1"          # the benchmark's metrics (pass@1; em_first_line, em_full), edit_similarity
                               #   (exact-match benchmarks), or a count: timeout, memory, missing, sandbox_error
    at_least = 0.7648          # higher is better: holds when measured >= at_least - tolerance
    # at_most = 0              # lower is better:  holds when measured <= at_most + tolerance (exactly one of them)
    tolerance = 0.002          # optional, >= 0, in the metric's unit (a fraction: 0.002 = 0.2 percentage points)
    n = 1033                   # optional: the sample count the threshold was written for
    optional = false           # optional: true = a missing result is skipped instead of failing
    note = "published: 790/1033"            # optional free text, shown in the report

    [[must_pass]]              # samples that must pass (a regression on a sample you care about)
    name = "..."               # optional
    benchmark = "humaneval-single-line"
    model = "open-dcoder-0.5B"
    samples = ["SingleLineInfilling/HumanEval/0/L0"]
    metric = "em_full"         # optional: on exact-match benchmarks, which rule; default: the test's verdict
    optional = false
    note = "..."

Thresholds are fractions in [0, 1] for scores (not percentages), counts for the count metrics; a score threshold
may also be written as the exact fraction "790/1033", which compares equal to a run that reproduces it.

Rules, each there so that a gate never passes without having checked something:
- `n`: a gate written for the full benchmark must not be judged on an `--infill-limit` or `-k` subset. When the
  run's n differs from the gate's, the gate FAILS and says so (use a gates file written for that subset).
- A gate whose (benchmark, model, metric) has no result in the run FAILS, unless it says `optional = true`
  (then it is reported as SKIP).
- A `must_pass` sample that the run did not grade (outside --infill-limit or -k) fails like a wrong one.
- Comparisons allow 1e-9 for floating-point rounding; tolerances are the place for real slack.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from infill.benchmarks import BENCHMARKS
from infill.errors import InfillUsageError

COUNT_METRICS = ("timeout", "memory", "missing", "sandbox_error")   # per-(benchmark, model) sample counts
FLOAT_SLACK = 1e-9          # rounding noise only; not a tolerance
TOP_LEVEL_KEYS = ("defaults", "gate", "must_pass")
DEFAULT_KEYS = ("tolerance", "n", "optional")
GATE_KEYS = ("name", "benchmark", "model", "metric", "at_least", "at_most", "tolerance", "n", "optional", "note")
MUST_PASS_KEYS = ("name", "benchmark", "model", "samples", "metric", "optional", "note")
FRACTION_TEXT = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
LISTED_SAMPLES = 10         # how many failing sample ids a message names before "and N more"


def allowed_metrics(benchmark: str) -> tuple[str, ...]:
    bench = BENCHMARKS[benchmark]
    extra = ("edit_similarity",) if bench.grader == "exact_match" else ()
    return (*bench.metrics, *extra, *COUNT_METRICS)


@dataclass(frozen=True)
class Gate:
    name: str
    benchmark: str
    model: str
    metric: str
    direction: str              # "at_least" or "at_most"
    threshold: float
    threshold_text: str         # as written: "0.7648" or "790/1033"
    tolerance: float = 0.0
    n: int | None = None
    optional: bool = False
    note: str = ""

    @property
    def is_count(self) -> bool:
        return self.metric in COUNT_METRICS

    @property
    def bound(self) -> float:
        """The value the measurement is compared with, tolerance applied."""
        return self.threshold - self.tolerance if self.direction == "at_least" else self.threshold + self.tolerance


@dataclass(frozen=True)
class MustPass:
    name: str
    benchmark: str
    model: str
    samples: tuple[str, ...]
    metric: str | None = None   # None: the test's verdict (`correct`)
    optional: bool = False
    note: str = ""


@dataclass(frozen=True)
class GateSet:
    path: Path
    gates: tuple[Gate, ...] = ()
    must_pass: tuple[MustPass, ...] = ()

    def __len__(self) -> int:
        return len(self.gates) + len(self.must_pass)


@dataclass(frozen=True)
class GateOutcome:
    name: str
    kind: str                   # "threshold" or "must_pass"
    status: str                 # "pass", "fail" or "skip" (an optional gate without a result)
    message: str                # one line, names the gate, the measured value and what it needed
    benchmark: str
    model: str
    metric: str | None
    measured: float | None = None
    threshold: float | None = None
    tolerance: float | None = None
    direction: str | None = None
    n: int | None = None        # samples behind the measurement
    expected_n: int | None = None
    needs: str = ""             # "≥ 76.28% (76.48% − 0.20 pp)", for tables
    shown: str = ""             # the measured value formatted, for tables
    failing_samples: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status != "fail"

    def to_json(self) -> dict:
        return {"name": self.name, "kind": self.kind, "status": self.status, "passed": self.passed,
                "benchmark": self.benchmark, "model": self.model, "metric": self.metric,
                "measured": self.measured, "threshold": self.threshold, "tolerance": self.tolerance,
                "direction": self.direction, "needs": self.needs, "n": self.n, "expected_n": self.expected_n,
                "failing_samples": self.failing_samples, "message": self.message}


# ---- loading and validation -----------------------------------------------------------------------------------

class _Problem(Exception):
    """A problem inside one table; turned into an InfillUsageError that names the file and the table."""


def load_gates(path: str | Path) -> GateSet:
    """Read and validate a gates file; any problem is one InfillUsageError line naming file, gate and fix."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InfillUsageError(f"gates file {path} not found: pass --infill-gates with an existing TOML file "
                               f"(examples in gates/)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InfillUsageError(f"gates file {path} cannot be read ({exc}): pass a readable UTF-8 TOML file") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InfillUsageError(f"{path}: not valid TOML: {exc}: fix the syntax there") from None

    unknown = [k for k in document if k not in TOP_LEVEL_KEYS]
    if unknown:
        hint = _did_you_mean(unknown[0], TOP_LEVEL_KEYS)
        raise InfillUsageError(f"{path}: unknown top-level key {unknown[0]!r}{hint}: "
                               f"a gates file has [defaults], [[gate]] and [[must_pass]] tables")
    for key in ("gate", "must_pass"):
        if key in document and not (isinstance(document[key], list) and
                                    all(isinstance(t, dict) for t in document[key])):
            raise InfillUsageError(f"{path}: {key!r} must be an array of tables: write [[{key}]] above each one")
    try:
        defaults = _defaults(document.get("defaults", {}))
    except _Problem as problem:
        raise InfillUsageError(f"{path}: [defaults]: {problem}") from None

    gates, must_pass = [], []
    for number, table in enumerate(document.get("gate", []), start=1):
        try:
            gates.append(_gate(table, defaults))
        except _Problem as problem:
            raise InfillUsageError(f"{path}: gate {number}{_label(table)}: {problem}") from None
    for number, table in enumerate(document.get("must_pass", []), start=1):
        try:
            must_pass.append(_must_pass(table, defaults))
        except _Problem as problem:
            raise InfillUsageError(f"{path}: must_pass {number}{_label(table)}: {problem}") from None
    if not gates and not must_pass:
        raise InfillUsageError(f"{path}: defines no gate: add a [[gate]] or [[must_pass]] table (examples in gates/), "
                               f"or drop --infill-gates")
    return GateSet(path, tuple(gates), tuple(must_pass))


def _label(table: dict) -> str:
    if isinstance(table.get("name"), str):
        return f" ({table['name']!r})"
    parts = [table.get(k) for k in ("benchmark", "model", "metric")]
    shown = " / ".join(str(p) for p in parts if isinstance(p, str))
    return f" ({shown})" if shown else ""


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_keys(table: dict, allowed: tuple[str, ...]) -> None:
    for key in table:
        if key not in allowed:
            raise _Problem(f"unknown key {key!r}{_did_you_mean(key, allowed)}: allowed keys are {', '.join(allowed)}")


def _number(table: dict, key: str) -> float | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Problem(f"{key} = {value!r} is not a number: write e.g. {key} = 0.02")
    if value < 0:
        raise _Problem(f"{key} = {value!r} is negative: write a value >= 0")
    return float(value)


def _count(table: dict, key: str) -> int | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _Problem(f"{key} = {value!r} is not a positive whole number: write the sample count, e.g. {key} = 1033")
    return value


def _flag(table: dict, key: str) -> bool | None:
    value = table.get(key)
    if value is not None and not isinstance(value, bool):
        raise _Problem(f"{key} = {value!r} is not a boolean: write {key} = true or {key} = false")
    return value


def _text(table: dict, key: str, required: bool = False) -> str | None:
    value = table.get(key)
    if value is None:
        if required:
            raise _Problem(f"missing {key!r}: add {key} = \"...\"")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise _Problem(f"{key} = {value!r} must be a non-empty string: write {key} = \"...\"")
    return value


def _defaults(table) -> dict:
    if not isinstance(table, dict):
        raise _Problem("must be a table: write [defaults] on its own line")
    _check_keys(table, DEFAULT_KEYS)
    return {"tolerance": _number(table, "tolerance"), "n": _count(table, "n"), "optional": _flag(table, "optional")}


def _benchmark(table: dict) -> str:
    name = _text(table, "benchmark", required=True)
    if name not in BENCHMARKS:
        raise _Problem(f"unknown benchmark {name!r}{_did_you_mean(name, BENCHMARKS)}: "
                       f"choose from {', '.join(BENCHMARKS)}")
    return name


def _metric(table: dict, benchmark: str, choices: tuple[str, ...]) -> str:
    metric = _text(table, "metric", required=True)
    if metric not in choices:
        raise _Problem(f"unknown metric {metric!r} for {benchmark}{_did_you_mean(metric, choices)}: "
                       f"choose from {', '.join(choices)}")
    return metric


def _threshold(table: dict, metric: str) -> tuple[str, float, str]:
    given = [k for k in ("at_least", "at_most") if k in table]
    if not given:
        raise _Problem("no threshold: add at_least = 0.75 (higher is better) or at_most = ... (lower is better)")
    if len(given) == 2:
        raise _Problem("both at_least and at_most: keep one (write two gates for a range)")
    direction = given[0]
    value = table[direction]
    if metric in COUNT_METRICS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _Problem(f"{direction} = {value!r}: {metric} is a count of samples; write a whole number >= 0")
        return direction, float(value), str(value)
    if isinstance(value, str):
        match = FRACTION_TEXT.match(value)
        if not match or int(match[2]) == 0:
            raise _Problem(f"{direction} = {value!r} is neither a number nor a fraction \"PASSED/N\": "
                           f"write e.g. {direction} = 0.7648 or {direction} = \"790/1033\"")
        exact = Fraction(int(match[1]), int(match[2]))
        if exact > 1:
            raise _Problem(f"{direction} = {value!r} is above 1: a score is a fraction of samples")
        return direction, int(match[1]) / int(match[2]), value.strip()   # the same division summarize() does
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Problem(f"{direction} = {value!r} is not a number: write e.g. {direction} = 0.7648")
    if not 0 <= value <= 1:
        hint = f" (a percentage? write {value / 100:g})" if 1 < value <= 100 else ""
        raise _Problem(f"{direction} = {value!r} is outside [0, 1]: {metric} is a fraction{hint}")
    return direction, float(value), repr(value)


def _gate(table: dict, defaults: dict) -> Gate:
    _check_keys(table, GATE_KEYS)
    benchmark = _benchmark(table)
    model = _text(table, "model", required=True)
    metric = _metric(table, benchmark, allowed_metrics(benchmark))
    direction, threshold, threshold_text = _threshold(table, metric)
    tolerance = _number(table, "tolerance")
    tolerance = defaults["tolerance"] if tolerance is None else tolerance
    if tolerance is not None and metric not in COUNT_METRICS and tolerance >= 1:
        raise _Problem(f"tolerance = {tolerance!r} is 1 or more: {metric} is a fraction, so the gate could never fail; "
                       f"write e.g. tolerance = 0.02 (2 percentage points)")
    n = _count(table, "n") or defaults["n"]
    if n is not None and n > BENCHMARKS[benchmark].size:
        raise _Problem(f"n = {n} is more than {benchmark}'s {BENCHMARKS[benchmark].size} samples: "
                       f"write its size or the --infill-limit the gate was written for")
    optional = _flag(table, "optional")
    return Gate(name=_text(table, "name") or f"{benchmark} / {model} / {metric}", benchmark=benchmark, model=model,
                metric=metric, direction=direction, threshold=threshold, threshold_text=threshold_text,
                tolerance=tolerance or 0.0, n=n, optional=_or_default(optional, defaults["optional"]),
                note=_text(table, "note") or "")


def _or_default(value: bool | None, default: bool | None) -> bool:
    return bool(default) if value is None else value


def _must_pass(table: dict, defaults: dict) -> MustPass:
    _check_keys(table, MUST_PASS_KEYS)
    benchmark = _benchmark(table)
    model = _text(table, "model", required=True)
    metric = _metric(table, benchmark, BENCHMARKS[benchmark].metrics) if "metric" in table else None
    samples = table.get("samples")
    if not isinstance(samples, list) or not samples or not all(isinstance(s, str) and s for s in samples):
        raise _Problem("'samples' must be a non-empty list of sample ids: write samples = [\"...\", ...]")
    known = _sample_ids(benchmark)
    for sample in samples:
        if sample not in known:
            raise _Problem(f"{sample!r} is not a sample id of {benchmark}{_did_you_mean(sample, known)}: "
                           f"ids are the dataset's own (see samples.jsonl or the pytest case ids)")
    optional = _flag(table, "optional")
    return MustPass(name=_text(table, "name") or f"{benchmark} / {model}: {len(samples)} samples must pass",
                    benchmark=benchmark, model=model, samples=tuple(dict.fromkeys(samples)), metric=metric,
                    optional=_or_default(optional, defaults["optional"]),
                    note=_text(table, "note") or "")


def _sample_ids(benchmark: str) -> set[str]:
    from infill.benchmarks import load_benchmark    # cached; the run loads the benchmark anyway
    return {s.sample_id for s in load_benchmark(benchmark).samples}


# ---- evaluation -----------------------------------------------------------------------------------------------

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


def _pct(value: float) -> str:
    return f"{100 * value:.2f}%"


def _needs(gate: Gate) -> str:
    sign = ">=" if gate.direction == "at_least" else "<="
    if gate.is_count:
        return f"{sign} {gate.bound:g}" + (f" ({gate.threshold:g} + {gate.tolerance:g})" if gate.tolerance else "")
    exact = f" = {gate.threshold_text}" if "/" in gate.threshold_text else ""
    if not gate.tolerance:
        return f"{sign} {_pct(gate.threshold)}" + (f" ({exact[3:]})" if exact else "")
    op = "minus" if gate.direction == "at_least" else "plus"
    return f"{sign} {_pct(gate.bound)} ({_pct(gate.threshold)}{exact} {op} {100 * gate.tolerance:.2f} pp tolerance)"


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
        shown = f"{_pct(measured)} ({result['passed']}/{n})"
    needs = _needs(gate)
    common = dict(measured=measured, threshold=gate.threshold, tolerance=gate.tolerance, direction=gate.direction,
                  n=n, expected_n=gate.n, needs=needs, shown=shown)
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


# ---- rendering ------------------------------------------------------------------------------------------------

def tally(outcomes: list[GateOutcome]) -> str:
    counts = {status: sum(o.status == status for o in outcomes) for status in ("pass", "fail", "skip")}
    text = f"{counts['pass']} passed, {counts['fail']} failed"
    return text + (f", {counts['skip']} skipped" if counts["skip"] else "")


def terminal_lines(outcomes: list[GateOutcome], source: Path | str | None = None) -> list[str]:
    """One line per gate (PASS / FAIL / SKIP, measured, threshold), after a tally line."""
    head = f"gates{f' ({source})' if source else ''}: {tally(outcomes)}"
    return [head] + [f"{o.status.upper():<4}  {o.message}" for o in outcomes]


def markdown_lines(outcomes: list[GateOutcome], source: Path | str | None = None) -> list[str]:
    """report.md's "## Gates" section: a table in the report's style, then every failure's message."""
    if not outcomes:
        return []
    lines = ["## Gates", "", f"{tally(outcomes)}" + (f" (gates file `{source}`)." if source else "."), "",
             "| gate | benchmark | model | metric | n | measured | needs | result |",
             "|---|---|---|---|---:|---|---|---|"]
    for o in outcomes:
        result = {"pass": "PASS", "fail": "**FAIL**", "skip": "skip (optional, no result)"}[o.status]
        n = "" if o.n is None else (f"{o.n} (gate: {o.expected_n})" if o.expected_n not in (None, o.n) else str(o.n))
        lines.append(f"| {o.name} | {o.benchmark} | {o.model} | {o.metric or 'verdict'} | {n} | {o.shown} "
                     f"| {o.needs} | {result} |")
    failed = [o for o in outcomes if o.status == "fail"]
    if failed:
        lines += ["", "Failed gates:", ""] + [f"- {o.message}" for o in failed]
    return lines + [""]


def outcomes_json(outcomes: list[GateOutcome]) -> list[dict]:
    """summary.json `gates`."""
    return [o.to_json() for o in outcomes]
