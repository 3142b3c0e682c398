"""Several scorers' perplexities into one (`combine`), and calibration over a run (`zscores`): the ensemble's pure
helpers. Their rules are versioned (`COMBINE_VERSION`, `CALIBRATION_VERSION`)."""

from __future__ import annotations

import math

COMBINE_VERSION = "combine-v1"             # min / mean / harmonic with the inf rules in `combine`
CALIBRATION_VERSION = "zscore-v1"          # z-score of mean NLL, population std, inf excluded (see `zscores`)
COMBINE_RULES = ("min", "mean", "harmonic")


def combine(perplexities: list[float], how: str) -> float:
    """One perplexity from several scorers' perplexities of the same candidate.

    - "min": the most favourable scorer's; inf values are ignored unless all are inf.
    - "mean": the arithmetic mean; any inf makes it inf.
    - "harmonic": n / sum(1 / p); an inf contributes 0 to the reciprocal sum (still counted in n), so it raises
      the result without making it inf.
    Each rule is its own limit as one perplexity tends to inf, so a scorer that cannot score a candidate (an empty
    completion: inf) moves the result continuously. All inf -> inf under every rule."""
    if how not in COMBINE_RULES:
        raise ValueError(f"unknown combine rule {how!r}: choose from {', '.join(COMBINE_RULES)}")
    if not perplexities:
        raise ValueError("combine: no perplexities to combine")
    if any(math.isnan(p) or p <= 0 for p in perplexities):
        raise ValueError(f"combine: perplexities must be positive numbers, got {perplexities}")
    finite = [p for p in perplexities if math.isfinite(p)]
    if not finite:
        return math.inf
    if how == "min":
        return min(finite)
    if how == "mean":
        return math.inf if len(finite) < len(perplexities) else math.fsum(finite) / len(finite)
    return len(perplexities) / math.fsum(1 / p for p in finite)


def zscores(values: list[float]) -> list[float]:
    """Calibration over a run: z-scores of log-perplexities (mean NLLs) with the population standard deviation.
    inf values (unscorable candidates) stay inf and are excluded from the mean and std; when the finite values are
    all equal (or there is at most one) they all get 0."""
    if any(math.isnan(v) or v == -math.inf for v in values):
        raise ValueError(f"zscores: values must be finite or +inf, got {values}")
    finite = [v for v in values if math.isfinite(v)]
    if not finite or min(finite) == max(finite):
        # Checked on the values, not on std == 0: the mean of equal floats can differ from them by rounding.
        return [0.0 if math.isfinite(v) else math.inf for v in values]
    mean = math.fsum(finite) / len(finite)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in finite) / len(finite))
    return [(v - mean) / std if math.isfinite(v) else math.inf for v in values]
