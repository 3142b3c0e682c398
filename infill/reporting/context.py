"""Everything a report says besides the figures: selection, rules, sources, provenance, notes, timing of the run.
Under pytest-xdist the controller never loads a model, so each worker sends what only it knows (`worker_view`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from infill.benchmarks import BENCHMARKS, kind_of, load_benchmark
from infill.generation.postprocess import POSTPROCESS
from infill.reporting import provenance
from infill.reporting.summary import isolation_summary
from infill.run.session import BenchmarkRun
from infill.sources.live import LiveSource


def worker_view(run: BenchmarkRun) -> dict:
    """What only this process knows after running cases: the weights identity, device and dtype of the models it
    loaded, and its pool's footprint."""
    return {"sources": {m: s.provenance() for m, s in run.sources.items()}, "footprint": run.pool.footprint()}


def sources_and_footprint(run: BenchmarkRun, workers: list[dict]) -> tuple[list[dict], dict | None]:
    """This process's view, or under xdist the workers': per model the fullest description (the worker that loaded it
    knows its weights; the others only its settings); footprints add up over the workers."""
    sources = []
    for model, source in run.sources.items():
        views = [source.provenance()] + [w["sources"][model] for w in workers if model in w["sources"]]
        sources.append(max(views, key=len))         # the first of the fullest: deterministic
    footprints = [w["footprint"] for w in workers if w.get("footprint")]
    if not footprints:
        return sources, run.pool.footprint()
    return sources, {"mode": footprints[0]["mode"], "processes": len(footprints),
                     "weights_bytes": dict(sorted({k: v for f in footprints
                                                   for k, v in f["weights_bytes"].items()}.items())),
                     "peak_held_bytes": max(f["peak_held_bytes"] for f in footprints),   # per process
                     "loads": sum(f["loads"] for f in footprints)}


def postprocessing_summary(run: BenchmarkRun) -> str:
    parts = []
    for model, source in run.sources.items():
        if isinstance(source, LiveSource):
            per_kind: dict[str, str] = {}
            for benchmark in run.benchmarks:
                per_kind.setdefault(kind_of(benchmark).name,
                                    POSTPROCESS[source.settings_for(benchmark).postprocess].version)
            parts.append(f"{model}: " + ", ".join(f"{k} `{v}`" for k, v in per_kind.items()))
        else:
            parts.append(f"{model}: none, graded verbatim ({source.kind})")
    return "; ".join(parts)


def report_context(run: BenchmarkRun, root: Path, records: list[dict], complete: bool, incomplete_reason: str,
                   command: str, started: float, finished: float, workers: list[dict] = ()) -> dict:
    benchmarks = sorted({r["benchmark"] for r in records}, key=list(BENCHMARKS).index)
    rules = {**run.grading.rules(), "isolation": isolation_summary(records),
             "postprocessing": postprocessing_summary(run)}
    iso = lambda t: dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat(timespec="seconds")
    sources, footprint = sources_and_footprint(run, sorted(workers, key=lambda w: w.get("worker", "")))
    return {
        "complete": complete, "incomplete_reason": incomplete_reason, "notes": list(run.notes),
        "selection": {"models": list(run.sources), "profile": run.profile, "benchmarks": benchmarks,
                      "limit": run.limit, "data_sha256": {b: load_benchmark(b).sha256 for b in benchmarks}},
        "rules": rules, "sources": sources,
        "provenance": {**provenance.collect(root), "models_in_memory": footprint},
        "run": {"command": command, "started": iso(started), "finished": iso(finished),
                "seconds": round(finished - started, 3), **({"shard": str(run.shard)} if run.shard else {})},
    }
