"""Why the perplexity ensemble does what it does, from the `ensemble` details its records carry.

An ensemble NAME with several strategies is several rows (`NAME/lowest-perplexity`, `NAME/oracle`, ...) over the
same candidates. What depends only on the candidates (each member's perplexity and whether it predicts
correctness, the members' overlap, every strategy's pass rate) is computed once per ensemble over the union of its
rows' samples; what depends on the choice (selection rates, the winner's correctness, the ensemble against each
member) is computed per row.

Choices made here (they change numbers, so they are part of ANALYSIS_VERSION):
- Pearson correlation is between log(perplexity) and correctness (1/0), over finite perplexities only:
  perplexity is heavy-tailed, and a few huge values would dominate a linear correlation. A negative r means
  lower perplexity goes with correct completions.
- ROC-AUC scores each candidate by -perplexity over all candidates, an unscorable one (inf) ranking lowest; 0.5 is
  chance, 1 means every correct candidate had lower perplexity than every incorrect one.
- A candidate missing from a record's details counts as unscorable and not correct.
"""

from __future__ import annotations

import math
import statistics

from infill.common.jsonable import perplexity_value, rate
from infill.common.statistics import bootstrap_auc_interval, pearson, roc_auc
from infill.reporting.analysis.agreement import (
    ORACLE_STRATEGIES,
    complementarity,
    is_oracle_row,
    pair_overlap,
    proportion,
)
from infill.sources.ensemble.strategies import STRATEGIES

NO_TASK_TYPE = "(none)"


def ensemble_name(model: str) -> str:
    """`NAME/STRATEGY` -> NAME (an ensemble's name has no '/'); a bare name is its own ensemble."""
    return model.split("/", 1)[0]


def ensemble_groups(records: list[dict]) -> dict[str, list[dict]]:
    """Ensemble name -> its records (all rows), for records that carry ensemble details."""
    groups: dict[str, list[dict]] = {}
    for record in records:
        if isinstance(record.get("ensemble"), dict):
            groups.setdefault(ensemble_name(record["model"]), []).append(record)
    return {name: groups[name] for name in sorted(groups)}


def members_of(records: list[dict]) -> list[str]:
    details = records[0]["ensemble"]
    return list(details.get("members") or details.get("candidates", {}))


def row_strategy(record: dict) -> str:
    return record["ensemble"].get("strategy") or record["model"].partition("/")[2] or "lowest-perplexity"


def candidate(details: dict, member: str) -> dict:
    return (details.get("candidates") or {}).get(member) or {}


def task_type_of(record: dict) -> str:
    return record.get("task_type") or NO_TASK_TYPE


def unique_samples(records: list[dict]) -> list[dict]:
    """One record per sample id (the details are the same in every row of an ensemble), in sample order."""
    by_sample: dict[str, dict] = {}
    for record in sorted(records, key=lambda r: (r["index"], r["model"])):
        by_sample.setdefault(record["sample_id"], record)
    return list(by_sample.values())


def member_candidates(samples: list[dict], member: str) -> tuple[list[float], list[bool]]:
    """(perplexity, correct) of member's candidate on each sample; perplexity inf when unscorable."""
    perplexities, correct = [], []
    for record in samples:
        info = candidate(record["ensemble"], member)
        perplexities.append(perplexity_value(info.get("perplexity")))
        correct.append(bool(info.get("correct")))
    return perplexities, correct


def location(values: list[float]) -> dict:
    return {"n": len(values), "mean": statistics.fmean(values) if values else None,
            "median": statistics.median(values) if values else None}


def member_analysis(perplexities: list[float], correct: list[bool]) -> dict:
    finite = [(p, c) for p, c in zip(perplexities, correct) if math.isfinite(p)]
    log_pairs = [(math.log(p), c) for p, c in finite if p > 0]
    scores = [-p for p in perplexities]
    return {
        "candidates": proportion(sum(correct), len(correct)),
        "perplexity": {"finite": len(finite), "inf": len(perplexities) - len(finite),
                       **{k: v for k, v in location([p for p, _ in finite]).items() if k != "n"},
                       "correct": location([p for p, c in finite if c]),
                       "incorrect": location([p for p, c in finite if not c])},
        "predicts_correctness": {
            "pearson_log_perplexity": pearson([x for x, _ in log_pairs], [float(c) for _, c in log_pairs]),
            "roc_auc_neg_perplexity": {"auc": roc_auc(scores, correct), "n": len(scores),
                                       **bootstrap_auc_interval(scores, correct)},
        },
    }


def strategy_table(samples: list[dict], members: list[str], member_correct: dict[str, list[bool]]) -> list[dict]:
    """Pass rate of every strategy the records name, from the correctness of the candidate each would keep,
    then each member alone for comparison. The oracle is labelled an upper bound."""
    names: list[str] = []
    for record in samples:
        for name in record["ensemble"].get("choices") or {}:
            if name not in names:
                names.append(name)
    # the canonical order, not the records' key order (which a merge of shards or a JSON round trip changes)
    names.sort(key=lambda n: (STRATEGIES.index(n) if n in STRATEGIES else len(STRATEGIES), n))
    table = []
    for name in names:
        kept = [record["ensemble"].get("choices", {}).get(name) for record in samples]
        passed = sum(bool(candidate(record["ensemble"], m).get("correct")) for record, m in zip(samples, kept)
                     if m is not None)
        oracle = name in ORACLE_STRATEGIES
        table.append({"strategy": name, "oracle": oracle,
                      "label": f"{name} (ORACLE upper bound: reads the verdicts)" if oracle else name,
                      **proportion(passed, len(samples))})
    for member in members:
        table.append({"strategy": f"always {member}", "oracle": False, "label": f"always {member} (member alone)",
                      **proportion(sum(member_correct[member]), len(samples))})
    return table


def row_analysis(rows: list[dict], members: list[str]) -> dict:
    """Selection, winner correctness and the row against each member, for one ensemble row's records."""
    rows = sorted(rows, key=lambda r: r["index"])
    winners = [r["ensemble"].get("winner") or (r["ensemble"].get("choices") or {}).get(row_strategy(r))
               for r in rows]
    correct = [bool(r["correct"]) for r in rows]
    n = len(rows)

    def shares(picked: list[str | None]) -> dict:
        return {m: {"count": picked.count(m), "share": rate(picked.count(m), len(picked))} for m in members}

    task_types = sorted({task_type_of(r) for r in rows})
    by_task = {t: {"n": sum(task_type_of(r) == t for r in rows),
                   "members": shares([w for r, w in zip(rows, winners) if task_type_of(r) == t])}
               for t in task_types}
    winner_correct = {}
    for member in members:
        chosen = [c for c, w in zip(correct, winners) if w == member]
        winner_correct[member] = {"chosen": len(chosen), "correct": sum(chosen), "rate": rate(sum(chosen), len(chosen))}
    vs_members = {}
    for member in members:
        member_correct = [bool(candidate(r["ensemble"], member).get("correct")) for r in rows]
        overlap = pair_overlap(correct, member_correct)
        vs_members[member] = {"ensemble_solves_member_fails": overlap["only_b_wrong"],
                              "member_solves_ensemble_fails": overlap["only_a_wrong"],
                              "both_right": overlap["both_right"], "both_wrong": overlap["both_wrong"],
                              "mcnemar_p": overlap["mcnemar_p"]}
    # the test graded the kept completion itself; the ensemble graded the same candidate: they should agree
    mismatches = sum(c != bool(candidate(r["ensemble"], w).get("correct")) for r, c, w in zip(rows, correct, winners))
    return {"strategy": row_strategy(rows[0]), "oracle": is_oracle_row(rows[0]), **proportion(sum(correct), n),
            "selection": {"overall": shares(winners), "by_task_type": by_task},
            "winner_correct": winner_correct, "vs_members": vs_members, "verdict_mismatches": mismatches}


def ensemble_analysis(records: list[dict]) -> dict:
    """All analyses of one ensemble (all its rows) on one benchmark."""
    members = members_of(records)
    samples = unique_samples(records)
    first = samples[0]["ensemble"]
    per_member, member_correct = {}, {}
    for member in members:
        perplexities, correct = member_candidates(samples, member)
        member_correct[member] = correct
        per_member[member] = member_analysis(perplexities, correct)
    pairs = [{"a": a, "b": b, **pair_overlap(member_correct[a], member_correct[b])}
             for i, a in enumerate(members) for b in members[i + 1:]]
    by_row: dict[str, list[dict]] = {}
    for record in records:
        by_row.setdefault(record["model"], []).append(record)
    return {
        "members": members,
        "scorer": first.get("scorer"), "scorer_version": first.get("scorer_version"),
        "scorer_model": first.get("scorer_model"), "combine": first.get("combine"),
        "strategy_version": first.get("strategy_version"),
        "n": len(samples),
        "per_member": per_member,
        "member_pairs": pairs,
        "complementarity": complementarity(member_correct),
        "strategies": strategy_table(samples, members, member_correct),
        "rows": {model: row_analysis(rows, members) for model, rows in sorted(by_row.items())},
    }
