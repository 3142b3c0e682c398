"""What an ensemble is, parsed from the options: `NAME=MEMBER+MEMBER[+...]`, the scorers that rank the candidates
(`SCORER:MODEL[+SCORER:MODEL...]`), how several scorers combine, and which strategies become rows.

Members are model names of the run (registry models, `MODEL/POLICY` rows of a diffusion model, replayed or
embedded recordings); scorer models are registry models. `+` separates members because a length policy may hold
commas (`confidence:6,12`).
"""

from __future__ import annotations

from dataclasses import dataclass

from infill.errors import InfillUsageError
from infill.scoring.combine import COMBINE_RULES
from infill.sources.ensemble.strategies import STRATEGIES


@dataclass(frozen=True)
class ScorerUse:
    scorer: str          # a name in infill.scoring.registry.SCORERS
    model: str           # the registry model that computes it

    @property
    def label(self) -> str:
        return f"{self.scorer}:{self.model}"


@dataclass(frozen=True)
class EnsembleSpec:
    name: str
    members: tuple[str, ...]
    scorers: tuple[ScorerUse, ...]
    combine: str = "min"
    strategies: tuple[str, ...] = ("lowest-perplexity",)

    def row(self, strategy: str) -> str:
        return f"{self.name}/{strategy}"


def parse_ensemble(value: str) -> tuple[str, tuple[str, ...]]:
    name, sep, members = str(value).partition("=")
    parts = tuple(m.strip() for m in members.split("+") if m.strip())
    if not sep or not name.strip() or "/" in name or len(parts) < 2:
        raise InfillUsageError(f"--infill-ensemble {value!r}: expected NAME=MODEL+MODEL[+MODEL...] with at least "
                               f"two members and no '/' in NAME (e.g. ensemble=open-dcoder-0.5b/oracle+"
                               f"qwen2.5-coder-1.5b)")
    if len(set(parts)) != len(parts):
        raise InfillUsageError(f"--infill-ensemble {value!r}: a member is listed twice")
    return name.strip(), parts


def parse_scorers(value: str, models: dict) -> tuple[ScorerUse, ...]:
    from infill.scoring.registry import SCORERS
    uses = []
    for part in [p.strip() for p in str(value).split("+") if p.strip()]:
        scorer, sep, model = part.partition(":")
        if scorer not in SCORERS:
            raise InfillUsageError(f"--infill-ensemble-scorer {part!r}: unknown scorer {scorer!r}; choose from "
                                   f"{', '.join(SCORERS)}")
        if not sep or model not in models:
            raise InfillUsageError(f"--infill-ensemble-scorer {part!r}: expected SCORER:MODEL with MODEL one of "
                                   f"{', '.join(models)}")
        needs = SCORERS[scorer].backend
        if models[model].backend != needs:
            fits = [name for name, entry in SCORERS.items() if entry.backend == models[model].backend]
            raise InfillUsageError(f"--infill-ensemble-scorer {part!r}: {scorer} scores with a model of backend "
                                   f"{needs}, {model} is of backend {models[model].backend}: use "
                                   f"{' or '.join(f'{s}:{model}' for s in fits)}, or a model of backend {needs}")
        uses.append(ScorerUse(scorer, model))
    if not uses:
        raise InfillUsageError(f"--infill-ensemble-scorer {value!r}: name at least one SCORER:MODEL")
    return tuple(uses)


def parse_strategies(value: str) -> tuple[str, ...]:
    chosen = tuple(s.strip() for s in str(value).split(",") if s.strip())
    unknown = [s for s in chosen if s not in STRATEGIES]
    if unknown or not chosen:
        raise InfillUsageError(f"--infill-ensemble-strategies {value!r}: choose from {', '.join(STRATEGIES)}")
    return chosen


def parse_combine(value: str) -> str:
    if value not in COMBINE_RULES:
        raise InfillUsageError(f"--infill-ensemble-combine {value!r}: choose from {', '.join(COMBINE_RULES)}")
    return value
