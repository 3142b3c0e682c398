"""Selection strategies: which member's completion the ensemble keeps for one sample.

Each strategy is a named, versioned rule over the candidates of one sample (the members' completions in member
order, each with its perplexity, its calibrated score and, for the oracle, its verdict). Ties are broken by member
order (the first listed member wins), so a run's choices never depend on dict or hash order.

- `lowest-perplexity` (the published design; with two members it is the binary rule, with N members the lowest
  of N): the candidate with the lowest combined perplexity. A missing or empty completion has perplexity inf and
  is never kept while another candidate has a finite one.
- `calibrated`: the lowest per-member z-score of log-perplexity over the run. Scorers and members differ in scale
  (a diffusion model's pseudo-likelihood is not an AR model's likelihood; one member may be verbose): the
  z-score asks "how unusually confident is this member here, compared with itself elsewhere".
- `routed`: a router learned from cheap features of the sample (see `infill.sources.ensemble.routing`), evaluated by
  cross-validation so that a sample's choice never comes from a router trained on it.
- `oracle`: the first correct candidate (best-of-N). An upper bound that reads the verdicts: an ORACLE, never a
  deployable strategy, and labelled so in every table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

STRATEGY_VERSION = "v1"
STRATEGIES = ("lowest-perplexity", "calibrated", "routed", "oracle")
ORACLE_STRATEGIES = ("oracle",)


@dataclass(frozen=True)
class Candidate:
    member: str
    completion: str | None
    perplexity: float              # combined over the scorers; inf when there is nothing to score
    calibrated: float = 0.0        # z-score of log-perplexity within the member over the run; inf when unscored
    correct: bool | None = None    # the candidate's verdict (known after grading)


def _lowest(values: list[float]) -> int:
    """Index of the smallest value; the first on ties (member order). NaN counts as inf."""
    cleaned = [math.inf if v is None or math.isnan(v) else v for v in values]
    return min(range(len(cleaned)), key=lambda i: (cleaned[i], i))


def lowest_perplexity(candidates: list[Candidate]) -> int:
    return _lowest([c.perplexity for c in candidates])


def calibrated(candidates: list[Candidate]) -> int:
    return _lowest([c.calibrated for c in candidates])


def oracle(candidates: list[Candidate]) -> int:
    """The first correct candidate; with none correct, what lowest-perplexity keeps (the sample fails anyway)."""
    for i, candidate in enumerate(candidates):
        if candidate.correct:
            return i
    return lowest_perplexity(candidates)


# Decided by the sample alone; `calibrated` and `routed` depend on the whole run (infill.sources.ensemble.runlevel)
PER_SAMPLE = {"lowest-perplexity": lowest_perplexity, "oracle": oracle}


def zscores_by_member(perplexities: dict[str, list[float]]) -> dict[str, list[float]]:
    """member -> z-scores of log-perplexity over that member's candidates in the run (inf stays inf)."""
    from infill.scoring.combine import zscores
    return {member: zscores([math.log(p) if p > 0 and math.isfinite(p) else math.inf for p in values])
            for member, values in perplexities.items()}
