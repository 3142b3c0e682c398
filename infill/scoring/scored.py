"""A scorer's result for one candidate: mean negative log-likelihood over its scored tokens."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Scored:
    mean_nll: float
    tokens: int

    @property
    def perplexity(self) -> float:
        return math.exp(self.mean_nll) if self.tokens else float("inf")
