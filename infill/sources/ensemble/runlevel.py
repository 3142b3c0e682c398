"""Strategies that depend on the whole run, recomputed from the records: `calibrated` (z-scores over the run) and
`routed` (cross-validated over the run's samples).

A sharded run fits them on each shard's samples; the merge calls `reselect_records` on the union of the shards'
records, so the merged report equals the unsharded one. A live run calls `apply_run_level` on the same
(rounded) figures the records carry, so both paths compute from identical inputs.
"""

from __future__ import annotations

import math
from collections import defaultdict

from infill.sources.ensemble.routing import SampleFeatures, route
from infill.sources.ensemble.strategies import Candidate, calibrated, zscores_by_member

RUN_LEVEL = ("calibrated", "routed")


def _ppl(value) -> float:
    return math.inf if value is None else float(value)


def apply_run_level(samples: list[SampleFeatures], details: list[dict]) -> None:
    """Fill `choices["calibrated"]`, `choices["routed"]`, each candidate's `calibrated` and `routed_by` in place.
    `details[i]` belongs to `samples[i]` and already holds candidates and the per-sample choices."""
    if not details:
        return
    members = details[0]["members"]
    z = zscores_by_member({m: [_ppl(d["candidates"][m]["perplexity"]) for d in details] for m in members})
    for i, d in enumerate(details):
        for m in members:
            d["candidates"][m]["calibrated"] = round(z[m][i], 6) if math.isfinite(z[m][i]) else None
        picked = calibrated([Candidate(m, None, _ppl(d["candidates"][m]["perplexity"]), z[m][i]) for m in members])
        d["choices"]["calibrated"] = members[picked]
    fallback = [members.index(d["choices"]["lowest-perplexity"]) for d in details]
    correct = {m: [bool(d["candidates"][m]["correct"]) for d in details] for m in members}
    routed, how = route(samples, list(members), correct, fallback)
    for i, d in enumerate(details):
        d["choices"]["routed"] = members[routed[i]]
        d["routed_by"] = how


def features_of(sample) -> SampleFeatures:
    from infill.benchmarks import kind_of
    return SampleFeatures(sample.sample_id, sample.prefix, sample.suffix, sample.task_type,
                          kind_of(sample.benchmark).problem_id(sample))


def reselect_records(records: list[dict]) -> list[dict]:
    """Records with the run-level strategies recomputed over all of them (new dicts; others unchanged)."""
    from infill.benchmarks import load_benchmark

    groups: dict[tuple[str, str], dict[str, dict]] = defaultdict(dict)
    for record in records:
        if "ensemble" in record:
            groups[(record["benchmark"], record["model"].split("/")[0])].setdefault(record["sample_id"], record)
    fresh: dict[tuple[str, str, str], dict] = {}
    for (benchmark, name), by_sample in groups.items():
        data = load_benchmark(benchmark)
        ordered = sorted(by_sample.values(), key=lambda r: r["index"])
        details = [{key: value for key, value in r["ensemble"].items()
                    if key not in ("strategy", "winner", "oracle")} for r in ordered]
        details = [{**d, "candidates": {m: dict(c) for m, c in d["candidates"].items()},
                    "choices": dict(d["choices"])} for d in details]
        samples = [features_of(data.samples[r["index"]]) for r in ordered]
        apply_run_level(samples, details)
        for r, d in zip(ordered, details):
            fresh[(benchmark, name, r["sample_id"])] = d
    out = []
    for record in records:
        if "ensemble" not in record:
            out.append(record)
            continue
        d = fresh[(record["benchmark"], record["model"].split("/")[0], record["sample_id"])]
        strategy = record["ensemble"]["strategy"]
        updated = {**record, "ensemble": {**d, "strategy": strategy, "winner": d["choices"][strategy],
                                          "oracle": record["ensemble"]["oracle"]}}
        if strategy in RUN_LEVEL:
            kept = d["candidates"][d["choices"][strategy]]
            updated.update(completion=kept["completion"], correct=kept["correct"], status=kept["status"],
                           detail=kept["detail"], **kept["metrics"])
        out.append(updated)
    return out
