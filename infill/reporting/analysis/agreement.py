"""How the models of one benchmark agree and differ, from their verdicts alone (so it works on any records,
replayed or live, with or without an ensemble): pass rates on the samples all of them were graded on, the
best-of-N ORACLE, what each model solves that no other does, and pairwise error overlap with McNemar's test.

An ensemble row and its members are all just models here, except that a row which is itself an oracle (the
ensemble's `oracle` strategy reads the verdicts) is compared pairwise but kept out of the best-of-N oracle, the
best single model and "solved only by": an oracle is not a model to beat or to be complemented. The best-of-N
oracle reads the verdicts too, so it is an upper bound on any way of combining the models, not something a
deployed system could do.

What a reader compares is narrower (infill.reporting.roles says what each row is): `real_models` repeats the
oracle, the best single model and "solved only by" among the real models alone (an ensemble row copies one of its
members' completions, so beside its members it hides what they solve alone; a smoke row is no rival), and
`shown_pairs` holds only the pairs report.md shows: real models among themselves and each ensemble row against its
members. `pairs` keeps every pair, for scripts.
"""

from __future__ import annotations

from infill.common.jsonable import rate
from infill.common.statistics import mcnemar_exact, wilson_interval
from infill.reporting.roles import REAL, caveat_of, group_of, model_roles, ordered_models

EXCLUDED_MODELS = ("canonical",)        # the ground truth passes everything by construction: not a model
ORACLE_LABEL = "ORACLE best-of-N (a sample counts if any model is correct; reads the verdicts: an upper bound)"
from infill.sources.ensemble.strategies import (
    ORACLE_STRATEGIES,  # ensemble strategies that read the verdicts
)


def is_oracle_row(record: dict) -> bool:
    """An ensemble row whose choice reads the verdicts (an upper bound, not a model)."""
    details = record.get("ensemble")
    if not isinstance(details, dict):
        return False
    strategy = details.get("strategy") or record["model"].partition("/")[2]
    return bool(details.get("oracle")) or strategy in ORACLE_STRATEGIES


def verdicts_by_model(records: list[dict]) -> dict[str, dict[str, bool]]:
    """model -> sample id -> correct, for the records of one benchmark, excluded models left out."""
    verdicts: dict[str, dict[str, bool]] = {}
    for record in records:
        if record["model"] in EXCLUDED_MODELS:
            continue
        verdicts.setdefault(record["model"], {})[record["sample_id"]] = bool(record["correct"])
    return {model: verdicts[model] for model in sorted(verdicts)}


def proportion(passed: int, n: int) -> dict:
    low, high = wilson_interval(passed, n)
    return {"n": n, "passed": passed, "rate": rate(passed, n), "ci95": [low, high]}


def pair_overlap(a: list[bool], b: list[bool]) -> dict:
    """Error overlap of two aligned verdict lists and the exact McNemar test on their discordant samples."""
    both_right = sum(x and y for x, y in zip(a, b))
    only_a_wrong = sum(y and not x for x, y in zip(a, b))
    only_b_wrong = sum(x and not y for x, y in zip(a, b))
    both_wrong = sum(not x and not y for x, y in zip(a, b))
    return {"n": len(a), "both_right": both_right, "only_a_wrong": only_a_wrong, "only_b_wrong": only_b_wrong,
            "both_wrong": both_wrong, "mcnemar_p": mcnemar_exact(only_b_wrong, only_a_wrong)}


def complementarity(aligned: dict[str, list[bool]]) -> dict:
    """Over aligned verdict lists: samples solved by any / none, solved only by each model, and the oracle's
    gain over the best single model (ties for best are all named)."""
    names = list(aligned)
    n = len(next(iter(aligned.values()))) if aligned else 0
    columns = list(zip(*aligned.values())) if aligned else []
    solved_by_any = sum(any(column) for column in columns)
    solved_only_by = {name: sum(column[i] and sum(column) == 1 for column in columns)
                      for i, name in enumerate(names)}
    passed = {name: sum(values) for name, values in aligned.items()}
    best = max(passed.values(), default=0)
    best_models = [name for name in names if passed[name] == best] if names else []
    return {"n": n, "solved_by_any": solved_by_any, "solved_by_none": n - solved_by_any,
            "solved_only_by": solved_only_by,
            "oracle": {"label": ORACLE_LABEL, **proportion(solved_by_any, n)},
            "best_single": {"models": best_models, "passed": best, "rate": rate(best, n)},
            "oracle_gain": {"samples": solved_by_any - best, "rate": rate(solved_by_any - best, n)}}


def row_members(records: list[dict]) -> dict[str, list[str]]:
    """Ensemble row -> its members, from the details its records carry."""
    members: dict[str, list[str]] = {}
    for record in records:
        details = record.get("ensemble")
        if isinstance(details, dict) and record["model"] not in members:
            members[record["model"]] = list(details.get("members") or details.get("candidates") or [])
    return members


def meaningful_pairs(models: list[str], aligned: dict[str, list[bool]], roles: dict[str, dict],
                     members: dict[str, list[str]]) -> list[dict]:
    """The pairs a reader compares: real models among themselves, then each ensemble row (A) against each of its
    members (B). A real model against a smoke row is always "significant" and says nothing."""
    real = [m for m in models if group_of(m, roles) == REAL]
    pairs = [(a, b) for i, a in enumerate(real) for b in real[i + 1:]]
    rows = ordered_models([m for m in models if m in members], roles)      # ensembles of real models first
    pairs += [(row, member) for row in rows for member in members[row] if member in aligned]
    return [{"a": a, "b": b, **pair_overlap(aligned[a], aligned[b])} for a, b in pairs]


def multi_model_analysis(records: list[dict], roles: dict[str, dict] | None = None) -> dict:
    """All multi-model analyses of one benchmark's records. `roles` (infill.reporting.roles) says which rows are
    real models; without it a row is judged by its records' source kind."""
    roles = roles or model_roles([], {r["model"]: r["source"] for r in records if "source" in r})
    verdicts = verdicts_by_model(records)
    models = list(verdicts)
    shared = sorted(set.intersection(*(set(v) for v in verdicts.values()))) if verdicts else []
    aligned = {model: [verdicts[model][sample] for sample in shared] for model in models}
    oracle_rows = sorted({r["model"] for r in records if is_oracle_row(r)} & set(models))
    real = [m for m in models if group_of(m, roles) == REAL and m not in oracle_rows]
    pairs = []
    for i, a in enumerate(models):
        for b in models[i + 1:]:
            pairs.append({"a": a, "b": b, **pair_overlap(aligned[a], aligned[b])})
    return {
        "models": models,
        "excluded": sorted({r["model"] for r in records} & set(EXCLUDED_MODELS)),
        "oracle_rows": oracle_rows,
        "samples_per_model": {model: len(verdicts[model]) for model in models},
        "shared_samples": len(shared),
        "per_model": {model: {"all_samples": proportion(sum(verdicts[model].values()), len(verdicts[model])),
                              "shared_samples": proportion(sum(aligned[model]), len(shared))}
                      for model in models},
        **complementarity({m: v for m, v in aligned.items() if m not in oracle_rows}),
        "pairs": pairs,
        "groups": {model: group_of(model, roles) for model in models},
        "caveats": {model: caveat_of(model, roles) for model in models if caveat_of(model, roles)},
        # ensembles copy their members' completions and smoke rows are no rivals: complementarity among real models
        "real_models": {"models": real, **complementarity({m: aligned[m] for m in real})},
        "shown_pairs": meaningful_pairs(models, aligned, roles, row_members(records)),
    }
