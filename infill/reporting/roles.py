"""What each row of a run is, for the reader: a real model, an ensemble of real models, a smoke row, or the
reference (the ground truth), and the smoke caveat a row carries.

It is read from the sources' provenance that summary.json holds, never from model names: a live source says
`smoke` (a shipped tiny model), an ensemble row names its members and its scorers (each scorer with its own
`smoke`, or, in a summary written before scorers carried it, the scorer model's own source). A row is smoke-derived
when it is a tiny model, is built from one (an ensemble with a tiny member), or is ranked by one (an ensemble of
real members whose candidates a tiny scorer chooses between): its figures say nothing about real models.

Groups: `real` (replayed or live models that are not tiny), `ensemble` (ensemble rows whose members are all real;
they may still carry a caveat from their scorer), `smoke` (tiny models and ensembles with a tiny member) and
`reference` (the canonical ground truth, which passes by construction).
"""

from __future__ import annotations

REAL, ENSEMBLE, SMOKE, REFERENCE = "real", "ensemble", "smoke", "reference"
GROUP_ORDER = (REAL, ENSEMBLE, SMOKE, REFERENCE)
GROUP_LABELS = {
    REAL: "Real models",
    ENSEMBLE: "Ensembles of real models",
    SMOKE: "Smoke rows (tiny models and ensembles of them: near zero by design)",
    REFERENCE: "Reference (the ground truth: passes by construction)",
}


def _scorer_is_smoke(scorer: dict, by_model: dict[str, dict]) -> bool:
    if "smoke" in scorer:
        return bool(scorer["smoke"])
    return bool(by_model.get(scorer.get("model"), {}).get("smoke"))


def _plain(group: str, caveats: list[str] = ()) -> dict:
    return {"group": group, "smoke": bool(caveats), "caveats": list(caveats), "members": [], "oracle": False}


def _ensemble_role(source: dict, by_model: dict[str, dict], seen: frozenset) -> dict:
    members = list(source.get("members") or [])
    smoke_members = [m for m in members if m in by_model and _role(by_model[m], by_model, seen)["smoke"]]
    smoke_scorers = [s for s in source.get("scorers") or [] if isinstance(s, dict) and _scorer_is_smoke(s, by_model)]
    parts = []
    if smoke_members:
        parts.append(f"ensemble of tiny model{'s' if len(smoke_members) > 1 else ''} {', '.join(smoke_members)}")
    if smoke_scorers:
        parts.append("ranked by tiny model " + ", ".join(
            f"{s.get('model')}'s {s.get('scorer')} perplexity" for s in smoke_scorers))
    # SMOKE: its completions come from tiny models; SMOKE-derived: real completions, chosen by a tiny scorer
    caveats = [("SMOKE: " if smoke_members else "SMOKE-derived: ") + "; ".join(parts)] if parts else []
    return {"group": SMOKE if smoke_members else ENSEMBLE, "smoke": bool(caveats), "caveats": caveats,
            "members": members, "oracle": bool(source.get("oracle"))}


def _role(source: dict, by_model: dict[str, dict], seen: frozenset = frozenset()) -> dict:
    """`seen`: the ensembles on the way here, so that a member loop (which no run builds today) cannot recurse."""
    kind, model = source.get("kind"), source.get("model")
    if kind == "ensemble":
        return _plain(ENSEMBLE) if model in seen else _ensemble_role(source, by_model, seen | {model})
    if kind == "canonical":
        return _plain(REFERENCE)
    if source.get("smoke"):
        return _plain(SMOKE, ["SMOKE: shipped tiny model, near zero by design"])
    return _plain(REAL)


def model_roles(sources: list[dict], source_kinds: dict[str, str] | None = None) -> dict[str, dict]:
    """model -> {"group", "smoke", "caveats", "members", "oracle"} for every model the sources describe, and for
    every model of `source_kinds` (model -> the `source` kind its results or records carry) that they do not:
    such a model (provenance not recorded) is judged by its kind alone. Sorted by group, then name."""
    by_model = {s["model"]: s for s in sources or [] if isinstance(s, dict) and "model" in s}
    roles = {model: _role(source, by_model) for model, source in by_model.items()}
    for model, kind in (source_kinds or {}).items():
        roles.setdefault(model, _role({"model": model, "kind": kind}, by_model))
    return {model: roles[model] for model in ordered_models(roles, roles)}


def ordered_models(models, roles: dict[str, dict]) -> list[str]:
    """Real models first, then ensembles, smoke rows and the reference; by name within a group."""
    def key(model: str):
        group = roles.get(model, {}).get("group", REAL)
        return GROUP_ORDER.index(group) if group in GROUP_ORDER else len(GROUP_ORDER), model
    return sorted(models, key=key)


def group_of(model: str, roles: dict[str, dict]) -> str:
    return roles.get(model, {}).get("group", REAL)


def caveat_of(model: str, roles: dict[str, dict]) -> str:
    """The row's smoke caveat(s) as one phrase, or "" for a row that needs none."""
    return "; ".join(roles.get(model, {}).get("caveats", []))
