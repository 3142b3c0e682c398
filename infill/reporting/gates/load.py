"""Loading and validation: a gates file is read once, when the session starts, and any mistake in it is one
InfillUsageError line naming the file, the table and the fix."""

from __future__ import annotations

import math
import re
import tomllib
from fractions import Fraction
from pathlib import Path

from infill.benchmarks import BENCHMARKS, kind_of
from infill.errors import InfillUsageError, choose_from, parse_document
from infill.reporting.gates import spec
from infill.reporting.gates.fields import (
    _check_keys,
    _count,
    _did_you_mean,
    _flag,
    _number,
    _Problem,
    _text,
)
from infill.reporting.gates.spec import Gate, GateSet, MustPass, allowed_metrics

FRACTION_TEXT = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")



def load_gates(path: str | Path) -> GateSet:
    """Read and validate a gates file; any problem is one InfillUsageError line naming file, gate and fix."""
    path = Path(path)
    if path.exists() and not path.is_file():          # a FIFO would block the read forever, a device never end
        raise InfillUsageError(f"gates file {path} is not a regular file: pass --infill-gates with a TOML file")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InfillUsageError(f"gates file {path} not found: pass --infill-gates with an existing TOML file "
                               f"(examples in gates/)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InfillUsageError(f"gates file {path} cannot be read ({exc}): pass a readable UTF-8 TOML file") from None
    document = parse_document(tomllib.loads, text, tomllib.TOMLDecodeError,
                              invalid=lambda exc: f"{path}: not valid TOML: {exc}: fix the syntax there",
                              too_deep=f"{path}: TOML nested too deeply to be a gates file: fix the file",
                              unreadable=lambda exc: f"{path}: unreadable TOML ({exc}): fix the file")

    unknown = [k for k in document if k not in spec.TOP_LEVEL_KEYS]
    if unknown:
        hint = _did_you_mean(unknown[0], spec.TOP_LEVEL_KEYS)
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


def _defaults(table) -> dict:
    if not isinstance(table, dict):
        raise _Problem("must be a table: write [defaults] on its own line")
    _check_keys(table, spec.DEFAULT_KEYS)
    return {"tolerance": _number(table, "tolerance"), "n": _count(table, "n"), "optional": _flag(table, "optional")}


def _choice(table: dict, key: str, choices, after: str = "") -> str:
    """``table[key]``, which must be one of ``choices`` (``after`` follows the name in the error)."""
    value = _text(table, key, required=True)
    if value not in choices:
        raise _Problem(choose_from(key, value, choices, f"{after}{_did_you_mean(value, choices)}"))
    return value


def _benchmark(table: dict) -> str:
    return _choice(table, "benchmark", BENCHMARKS)


def _metric(table: dict, benchmark: str, choices: tuple[str, ...]) -> str:
    return _choice(table, "metric", choices, f" for {benchmark}")


def _metric_or_pass_at_k(table: dict, benchmark: str, choices: tuple[str, ...]) -> str:
    """A listed metric, or pass@k for any whole k (n samples per task report k = n too)."""
    value = table.get("metric")
    if isinstance(value, str) and value.startswith("pass@") and value[5:].isdigit() and int(value[5:]) >= 1:
        return value
    return _metric(table, benchmark, choices)


def _threshold(table: dict, metric: str) -> tuple[str, float, str]:
    given = [k for k in ("at_least", "at_most") if k in table]
    if not given:
        raise _Problem("no threshold: add at_least = 0.75 (higher is better) or at_most = ... (lower is better)")
    if len(given) == 2:
        raise _Problem("both at_least and at_most: keep one (write two gates for a range)")
    direction = given[0]
    value = table[direction]
    if metric in spec.COUNT_METRICS:
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
    _check_keys(table, spec.GATE_KEYS)
    benchmark = _benchmark(table)
    model = _text(table, "model", required=True)
    metric = _metric_or_pass_at_k(table, benchmark, allowed_metrics(benchmark))
    direction, threshold, threshold_text = _threshold(table, metric)
    tolerance = _number(table, "tolerance")
    tolerance = defaults["tolerance"] if tolerance is None else tolerance
    if tolerance is not None and metric not in spec.COUNT_METRICS and tolerance >= 1:
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
    _check_keys(table, spec.MUST_PASS_KEYS)
    benchmark = _benchmark(table)
    model = _text(table, "model", required=True)
    metric = _metric(table, benchmark, kind_of(benchmark).metrics) if "metric" in table else None
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
    from infill.benchmarks import (
        load_benchmark,  # cached; the run loads the benchmark anyway
    )
    return {s.sample_id for s in load_benchmark(benchmark).samples}
