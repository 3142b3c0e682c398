"""Turn the ensemble options (or the profile's defaults) into ensemble rows beside their members."""

from __future__ import annotations

from typing import Callable

from infill.ensemble.source import EnsembleCore, EnsembleRow, ScoreService
from infill.ensemble.spec import EnsembleSpec, parse_combine, parse_ensemble, parse_scorers, parse_strategies
from infill.errors import InfillUsageError
from infill.models.registry import MODELS


def build_ensembles(definitions: list[str], get: Callable[[str], object], profile, sources: dict,
                    resolve_member: Callable[[str], dict], pool, selected, progress, grade, cache_dir,
                    family_of) -> dict[str, EnsembleRow]:
    """Rows `NAME/STRATEGY` for each definition; members missing from `sources` are added to it (an ensemble is
    compared with its members, so they are rows of the run too)."""
    if not definitions:
        return {}
    scorers = parse_scorers(str(get("infill_ensemble_scorer") or profile.ensemble_scorer), MODELS)
    combine = parse_combine(str(get("infill_ensemble_combine") or "min"))
    strategies = parse_strategies(str(get("infill_ensemble_strategies") or ",".join(profile.ensemble_strategies)))

    def window_for(benchmark: str):
        return profile.settings(family_of(benchmark), {}, diffusion=True).window

    service = ScoreService(pool, MODELS, cache_dir, not get("infill_no_cache"), window_for, progress=progress,
                           context_lines=profile.score_context_lines)
    rows: dict[str, EnsembleRow] = {}
    for definition in definitions:
        name, members = parse_ensemble(definition)
        if name in sources or name in MODELS or any(r.split("/")[0] == name for r in rows):
            raise InfillUsageError(f"--infill-ensemble {definition!r}: the name {name!r} is already taken")
        for member in members:
            if member not in sources:
                sources.update(resolve_member(member))
            if member not in sources:
                raise InfillUsageError(f"--infill-ensemble {definition!r}: member {member!r} is not a model of "
                                       f"this run; a diffusion member names its length policy "
                                       f"(e.g. open-dcoder-0.5b/oracle)")
        spec = EnsembleSpec(name, members, scorers, combine, strategies)
        core = EnsembleCore(spec, {m: sources[m] for m in members}, service, grade, selected, progress)
        rows.update({spec.row(s): EnsembleRow(core, s) for s in strategies})
    return rows
