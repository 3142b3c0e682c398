"""The benchmark registry: every kind and its benchmarks, registered in one call (`register`).

The built-in kinds register when `infill.benchmarks` is imported; a kind of your own is one definition module that
calls `register` at import, loaded by an installed package's `infill_bench.benchmarks` entry point, by
`pytest -p MODULE`, or by an import in your conftest.py. Names are checked when the run starts.
"""

from __future__ import annotations

import difflib

from infill.benchmarks.kind import BenchmarkKind
from infill.benchmarks.sample import Benchmark
from infill.errors import InfillUsageError, choose_from

KINDS: dict[str, BenchmarkKind] = {}
BENCHMARKS: dict[str, Benchmark] = {}
GROUPS: dict[str, list[str]] = {"all": []}      # command-line names that select several benchmarks at once


def register(kind: BenchmarkKind, benchmarks: list[Benchmark]) -> None:
    """Add a kind and its benchmarks (in this order: the order of every report table)."""
    if KINDS.get(kind.name, kind) is not kind:
        raise ValueError(f"benchmark kind {kind.name!r} is registered twice")
    KINDS[kind.name] = kind
    for benchmark in benchmarks:
        if benchmark.kind != kind.name:
            raise ValueError(f"benchmark {benchmark.name!r} names kind {benchmark.kind!r}, registered with {kind.name!r}")
        if benchmark.name in BENCHMARKS or benchmark.name in GROUPS:
            raise ValueError(f"benchmark {benchmark.name!r} is registered twice or clashes with a group name")
        BENCHMARKS[benchmark.name] = benchmark
        for group in ("all", *benchmark.groups):
            GROUPS.setdefault(group, []).append(benchmark.name)


def kind_of(benchmark: str) -> BenchmarkKind:
    return KINDS[BENCHMARKS[benchmark].kind]


def did_you_mean(name: str, choices) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def get_benchmark(name: str) -> Benchmark:
    try:
        return BENCHMARKS[name]
    except KeyError:
        names = [*BENCHMARKS, *GROUPS]
        raise InfillUsageError(choose_from("benchmark", name, names, did_you_mean(name, names))) from None


def resolve_benchmarks(spec: str) -> list[str]:
    """'humaneval-single-line,santacoder' -> benchmark names in registry order, no duplicates."""
    wanted: set[str] = set()
    for part in (p.strip() for p in spec.split(",")):
        if part:
            wanted.update(GROUPS[part] if part in GROUPS else [get_benchmark(part).name])
    return [n for n in BENCHMARKS if n in wanted]


def load_entry_points() -> None:
    """Import the definition modules that installed packages declare (group `infill_bench.benchmarks`)."""
    from importlib.metadata import entry_points
    for entry in entry_points(group="infill_bench.benchmarks"):
        entry.load()
