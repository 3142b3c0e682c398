"""The perplexity ensemble's work on one benchmark, in two explicit stages the run drives:

1. `collect(benchmark, samples)`: asks each member for its completions of those samples (live members generate in
   batches and cache; replayed members read their files), scores every candidate with every scorer (batched,
   through a durable score cache) and combines the scorers' perplexities (`min`, `mean`, `harmonic`); returns the
   candidates the run must grade (the routed strategy learns from verdicts, the oracle reads them, the analyses
   compare them; the grader memoises programs, so a member's own test does not run its program twice);
2. `decide(benchmark, verdicts)`: with those verdicts, every strategy's choice for every sample.
Each strategy is its own row (`NAME/STRATEGY`, infill.sources.ensemble.rows), sharing this core.
"""

from __future__ import annotations

import math

from infill.benchmarks.sample import Sample
from infill.errors import InfillUsageError
from infill.scoring.combine import combine
from infill.scoring.registry import SCORERS
from infill.sources.base import CompletionSource
from infill.sources.ensemble.routing import ROUTER_VERSION
from infill.sources.ensemble.runlevel import apply_run_level, features_of
from infill.sources.ensemble.scores import ScoreService
from infill.sources.ensemble.spec import EnsembleSpec
from infill.sources.ensemble.strategies import PER_SAMPLE, STRATEGY_VERSION, Candidate

ENSEMBLE_VERSION = "ppl-ensemble-v1"


def finite_or_none(value: float) -> float | None:
    """JSON has no inf: an unscorable candidate's perplexity is written as null."""
    return round(value, 6) if value is not None and math.isfinite(value) else None


class EnsembleCore:
    def __init__(self, spec: EnsembleSpec, members: dict[str, CompletionSource], scores: ScoreService):
        self.spec, self.members, self.scores = spec, members, scores
        # benchmark -> one dict per sample index j (n samples per task) -> sample id -> ensemble details
        self.prepared: dict[str, list[dict[str, dict]]] = {}
        self.collected: dict[str, tuple] = {}                  # benchmark -> what stage 2 needs
        self.failed: dict[str, str] = {}

    def collect(self, benchmark: str, samples: list[Sample]) -> list[tuple[Sample, str | None]]:
        """Stage 1. Returns the candidates to grade, member by member ([] when this benchmark is done)."""
        self.check_not_failed(benchmark)
        if benchmark in self.prepared or benchmark in self.collected:
            return []
        try:
            samples = sorted(samples, key=lambda s: s.index)
            for member in self.spec.members:
                self.members[member].prepare(benchmark, samples)
            by_index = self.candidates_by_index(samples)
            per_scorer = [{use.label: self.scores.score(use, benchmark, samples, completions, self.spec.name)
                           for use in self.spec.scorers} for completions in by_index]
        except Exception as error:
            self.failed[benchmark] = f"{type(error).__name__}: {error}"
            raise
        self.collected[benchmark] = (samples, by_index, per_scorer)
        return [(s, completions[m][s.sample_id]) for completions in by_index for m in self.spec.members
                for s in samples]

    def candidates_by_index(self, samples: list[Sample]) -> list[dict[str, dict[str, str | None]]]:
        """One {member: {sample id: completion}} per sample index j: candidate j of the ensemble is chosen among
        the members' candidates j, so every member needs the same number of samples per task."""
        candidates = {m: {s.sample_id: self.members[m].candidates(s) for s in samples} for m in self.spec.members}
        counts = {m: max((len(c) for c in by_sample.values()), default=1) for m, by_sample in candidates.items()}
        if len(set(counts.values())) > 1:
            raise InfillUsageError(f"ensemble {self.spec.name}: its members have different numbers of samples per "
                                   f"task ({', '.join(f'{m} {n}' for m, n in counts.items())}): give them the same")
        n = next(iter(counts.values()))
        return [{m: {sid: (c[j] if j < len(c) else None) for sid, c in by_sample.items()}
                 for m, by_sample in candidates.items()} for j in range(n)]

    def decide(self, benchmark: str, verdicts: list) -> None:
        """Stage 2: `verdicts` in the order `collect` returned the candidates."""
        samples, by_index, per_scorer = self.collected.pop(benchmark)
        per_index = len(samples) * len(self.spec.members)
        self.prepared[benchmark] = [
            self.decide_one(samples, completions, per_scorer[j], verdicts[j * per_index:(j + 1) * per_index])
            for j, completions in enumerate(by_index)]

    def decide_one(self, samples: list[Sample], completions: dict, per_scorer: dict, verdicts: list) -> dict:
        """Every strategy's choice for every sample, for one sample index."""
        spec, n = self.spec, len(samples)
        by_member = {m: verdicts[i * n:(i + 1) * n] for i, m in enumerate(spec.members)}
        perplexity = {m: [combine([per_scorer[u.label][m][i].perplexity for u in spec.scorers], spec.combine)
                          for i in range(n)] for m in spec.members}
        prepared = {}
        for i, sample in enumerate(samples):
            candidates = [Candidate(m, completions[m][sample.sample_id], perplexity[m][i], 0.0,
                                    by_member[m][i].correct) for m in spec.members]
            prepared[sample.sample_id] = self._details(i, candidates, by_member, per_scorer)
        # the run-level choices (calibrated, routed) from the rounded figures the records carry, by the same
        # function a merge of shards uses
        apply_run_level([features_of(s) for s in samples], [prepared[s.sample_id] for s in samples])
        return prepared

    def _details(self, i: int, candidates: list[Candidate], verdicts: dict, per_scorer: dict) -> dict:
        spec, info = self.spec, {}
        for candidate in candidates:
            verdict = verdicts[candidate.member][i]
            scored = {u.label: per_scorer[u.label][candidate.member][i] for u in spec.scorers}
            info[candidate.member] = {
                "completion": candidate.completion, "perplexity": finite_or_none(candidate.perplexity),
                "mean_nll": finite_or_none(math.log(candidate.perplexity)) if candidate.perplexity > 0 else None,
                "tokens": min(s.tokens for s in scored.values()),
                "per_scorer": {label: finite_or_none(s.perplexity) for label, s in scored.items()},
                "correct": bool(candidate.correct), "status": verdict.status, "detail": verdict.detail,
                "metrics": dict(verdict.metrics)}
        return {"members": list(spec.members), "candidates": info,
                "choices": {name: spec.members[rule(candidates)] for name, rule in PER_SAMPLE.items()},
                "scorer": "+".join(u.label for u in spec.scorers),
                "scorer_version": "+".join(SCORERS[u.scorer].version for u in spec.scorers),
                "combine": spec.combine, "strategy_version": STRATEGY_VERSION, "router_version": ROUTER_VERSION}

    def check_not_failed(self, benchmark: str) -> None:
        if benchmark in self.failed:        # prepared once per run: a fault is not recomputed per case
            raise RuntimeError(f"ensemble {self.spec.name} could not be prepared on {benchmark}: "
                               f"{self.failed[benchmark]}")

    def details(self, sample: Sample, index: int = 0) -> dict | None:
        """The ensemble's details of the sample's candidate `index` (the first: the record's)."""
        self.check_not_failed(sample.benchmark)
        if sample.benchmark not in self.prepared:
            raise RuntimeError(f"ensemble {self.spec.name}: {sample.benchmark} was not prepared (the run prepares "
                               f"a group before its first case)")
        return self.prepared[sample.benchmark][index].get(sample.sample_id)

    def samples_per_task(self, benchmark: str) -> int:
        return len(self.prepared[benchmark])
