"""Ensemble rows from their definitions: the score service first, then each ensemble's core over its member sources,
then one row per strategy."""

from __future__ import annotations

from infill.errors import InfillUsageError
from infill.models.registry import MODELS
from infill.sources.base import CompletionSource
from infill.sources.ensemble.core import EnsembleCore
from infill.sources.ensemble.rows import EnsembleRow
from infill.sources.ensemble.scores import ScoreService
from infill.sources.ensemble.spec import EnsembleSpec, parse_ensemble, parse_scorers


def build_ensembles(definitions: list[str], scorer: str, combine: str, strategies: tuple[str, ...],
                    members: dict[str, CompletionSource], scores: ScoreService) -> dict[str, EnsembleRow]:
    """Rows `NAME/STRATEGY` for each definition. `members` holds every source an ensemble may name (the caller
    resolves them); a name that is not there is a usage error."""
    if not definitions:
        return {}
    scorers = parse_scorers(scorer, MODELS)
    rows: dict[str, EnsembleRow] = {}
    for definition in definitions:
        name, names = parse_ensemble(definition)
        if name in members or name in MODELS or any(r.split("/")[0] == name for r in rows):
            raise InfillUsageError(f"--infill-ensemble {definition!r}: the name {name!r} is already taken")
        for member in names:
            if member not in members:
                raise InfillUsageError(f"--infill-ensemble {definition!r}: member {member!r} is not a model of "
                                       f"this run; a diffusion member names its length policy "
                                       f"(e.g. open-dcoder-0.5b/oracle)")
        core = EnsembleCore(EnsembleSpec(name, names, scorers, combine, strategies),
                            {m: members[m] for m in names}, scores)
        rows.update({core.spec.row(s): EnsembleRow(core, s) for s in strategies})
    return rows
