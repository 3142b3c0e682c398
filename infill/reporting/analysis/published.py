"""The per-sample ensemble file, `ensemble-<row>.jsonl`: the published ensemble's fields (task_id, completion,
dllm_output, qwen_output, dllm_perplexity, qwen_perplexity, winner) so its tooling reads our runs, plus what it
lacks (each candidate's verdict, the scorer, the strategy, the benchmark).

The published pair: "dllm" is the diffusion member, "qwen" the first autoregressive member. Families come from the
run's source provenance when it states them; otherwise members are listed diffusion first (the ensemble
convention), so the first member is "dllm" and the next one "qwen". A winner outside that pair is written by
its model name.
"""

from __future__ import annotations

import json
import re

from infill.benchmarks import BENCHMARKS
from infill.common.jsonable import perplexity_value, to_jsonable
from infill.reporting.analysis.ensemble import candidate, row_strategy

PUBLISHED_FORMAT_VERSION = "ensemble-samples-v1"


def sanitize(name: str) -> str:
    """A model or benchmark name as a file-name part: letters, digits, '.', '_' and '-' only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "unnamed"


def published_pair(members: list[str], backends: dict[str, str] | None = None) -> tuple[str, str | None]:
    """(dllm member, qwen member)."""
    backends = backends or {}
    diffusion = [m for m in members if backends.get(m) == "diffusion"]
    dllm = diffusion[0] if diffusion else members[0]
    others = [m for m in members if m != dllm]
    autoregressive = [m for m in others if backends.get(m) == "ar-fim"]
    qwen = autoregressive[0] if autoregressive else (others[0] if others else None)
    return dllm, qwen


def sample_line(record: dict, backends: dict[str, str] | None = None) -> dict:
    details = record["ensemble"]
    members = list(details.get("members") or details.get("candidates", {}))
    dllm, qwen = published_pair(members, backends)
    winner = details.get("winner") or (details.get("choices") or {}).get(row_strategy(record))
    role = {dllm: "dllm", qwen: "qwen"}

    def ppl(member):
        return perplexity_value(candidate(details, member).get("perplexity")) if member else None

    return {
        "task_id": record["sample_id"], "benchmark": record["benchmark"], "index": record["index"],
        "task_type": record.get("task_type"),
        "completion": record.get("completion"),
        "dllm_output": candidate(details, dllm).get("completion"),
        "qwen_output": candidate(details, qwen).get("completion") if qwen else None,
        "dllm_perplexity": ppl(dllm), "qwen_perplexity": ppl(qwen),
        "winner": role.get(winner, winner),
        "dllm_model": dllm, "qwen_model": qwen, "winner_model": winner,
        "correct": bool(record["correct"]), "status": record.get("status"),
        "candidates": {m: {"correct": bool(candidate(details, m).get("correct")),
                           "status": candidate(details, m).get("status"),
                           "perplexity": perplexity_value(candidate(details, m).get("perplexity"))}
                       for m in members},
        "strategy": row_strategy(record), "strategy_version": details.get("strategy_version"),
        "scorer": details.get("scorer"), "scorer_version": details.get("scorer_version"),
        "scorer_model": details.get("scorer_model"),
        "format": PUBLISHED_FORMAT_VERSION,
    }


def ensemble_files(records: list[dict], backends: dict[str, str] | None = None) -> dict[str, str]:
    """File name -> contents, one file per ensemble row, lines in benchmark (registry) then sample order."""
    order = {name: i for i, name in enumerate(BENCHMARKS)}
    by_row: dict[str, list[dict]] = {}
    for record in records:
        if isinstance(record.get("ensemble"), dict):
            by_row.setdefault(record["model"], []).append(record)
    files = {}
    for model in sorted(by_row):
        rows = sorted(by_row[model], key=lambda r: (order.get(r["benchmark"], len(order)), r["benchmark"],
                                                     r["index"]))
        files[f"ensemble-{sanitize(model)}.jsonl"] = "".join(
            json.dumps(to_jsonable(sample_line(r, backends)), sort_keys=True, ensure_ascii=False) + "\n"
            for r in rows)
    return files
