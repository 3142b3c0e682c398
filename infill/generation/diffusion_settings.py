"""The diffusion sampler's settings, apart from the sampler (infill.generation.diffusion) so that reading the options
and profiles does not import torch: a usage error is then reported before torch loads."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DiffusionSettings:
    steps: int = 64
    temperature: float = 0.6
    top_p: float = 0.95
    top_k: int = 0
    alg: str = "p2"
    alg_temp: float = 0.0
    eps: float = 1e-3
    seed: int = 0
    window: tuple[int, int] | None = None       # (prefix, suffix) tokens kept; None: the reference canvas
