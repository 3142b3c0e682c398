"""One strategy of an ensemble as a completion source: the model row `NAME/STRATEGY`."""

from __future__ import annotations

from infill.benchmarks.sample import Sample
from infill.models.registry import MODELS
from infill.scoring.combine import CALIBRATION_VERSION, COMBINE_VERSION
from infill.scoring.registry import SCORERS
from infill.sources.base import CompletionSource
from infill.sources.ensemble.core import ENSEMBLE_VERSION, EnsembleCore
from infill.sources.ensemble.routing import ROUTER_VERSION
from infill.sources.ensemble.strategies import ORACLE_STRATEGIES, STRATEGY_VERSION


class EnsembleRow(CompletionSource):
    kind = "ensemble"

    def __init__(self, core: EnsembleCore, strategy: str):
        self.core, self.strategy = core, strategy
        self.pending: dict[str, list] = {}                     # benchmark -> candidates the run must grade
        self.model = core.spec.row(strategy)
        self.members = core.spec.members                       # scheduled on the worker that runs them
        self.shares_work_with = tuple(core.spec.row(s) for s in core.spec.strategies)

    def covers(self, benchmark: str) -> bool:
        return all(self.core.members[m].covers(benchmark) for m in self.core.spec.members)

    def prepare(self, benchmark: str, samples: list[Sample]) -> None:
        """Stage 1 of the core (members, scores); the run grades `candidates_to_grade` and hands the verdicts back."""
        self.pending[benchmark] = self.core.collect(benchmark, samples)

    def candidates_to_grade(self, benchmark: str) -> list[tuple[Sample, str | None]]:
        return self.pending.get(benchmark, [])

    def take_verdicts(self, benchmark: str, verdicts: list) -> None:
        self.pending.pop(benchmark, None)
        self.core.decide(benchmark, verdicts)

    def completion(self, sample: Sample) -> str | None:
        return self.candidates(sample)[0]

    def candidates(self, sample: Sample) -> list[str | None]:
        """Candidate j: this strategy's choice among the members' candidates j."""
        chosen = []
        for index in range(self.core.samples_per_task(sample.benchmark)):
            details = self.core.details(sample, index)
            chosen.append(None if details is None else
                          details["candidates"][details["choices"][self.strategy]]["completion"])
        return chosen

    def record_extras(self, sample: Sample) -> dict:
        details = self.core.details(sample)
        if details is None:
            return {}
        return {"ensemble": {**details, "strategy": self.strategy, "winner": details["choices"][self.strategy],
                             "oracle": self.strategy in ORACLE_STRATEGIES}}

    def provenance(self) -> dict:
        spec = self.core.spec
        info = {"model": self.model, "kind": self.kind, "ensemble": spec.name, "version": ENSEMBLE_VERSION,
                "members": list(spec.members), "strategy": self.strategy, "strategy_version": STRATEGY_VERSION,
                "oracle": self.strategy in ORACLE_STRATEGIES,
                "router_version": ROUTER_VERSION if self.strategy == "routed" else None,
                # `smoke`: a tiny scorer ranks the candidates, so the row is smoke-derived even with real members
                "scorers": [{"scorer": u.scorer, "model": u.model, "version": SCORERS[u.scorer].version,
                             "smoke": MODELS[u.model].smoke if u.model in MODELS else False}
                            for u in spec.scorers], "combine": spec.combine,
                "combine_version": COMBINE_VERSION, "calibration_version": CALIBRATION_VERSION,
                "ar_score_context_lines": self.core.scores.context_lines}
        if self.core.scores.identities:                       # the scorer models' weights, once loaded
            info["scorer_weights"] = dict(sorted(self.core.scores.identities.items()))
        return info
