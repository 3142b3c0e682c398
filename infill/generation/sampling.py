"""Seeded token sampling that does not depend on the batch: every sample owns its random stream.

A sample's stream is seeded from (run seed, sample id), and each row draws one uniform number per step from its
own stream, so the same seed gives the same completion whatever the batch size, order or neighbours.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SamplingSettings:
    temperature: float = 0.0      # 0: greedy
    top_p: float = 1.0
    top_k: int = 0                # 0: off
    seed: int = 0


def sample_seed(seed: int, sample_id: str) -> int:
    digest = hashlib.sha256(f"{seed}\0{sample_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def row_generators(seed: int, sample_ids: list[str]) -> list[torch.Generator]:
    generators = []
    for sample_id in sample_ids:
        generator = torch.Generator(device="cpu")
        generator.manual_seed(sample_seed(seed, sample_id))
        generators.append(generator)
    return generators


def filtered_probabilities(logits: torch.Tensor, temperature: float, top_p: float, top_k: int,
                           top_k_first: bool = True) -> torch.Tensor:
    """Temperature (when > 0), then top-k and top-p (the top-1 token always survives), softmax in float32.
    `top_k_first=False` applies top-p before top-k, the order of Open-dCoder's sampler."""
    logits = logits.float()
    if temperature > 0:
        logits = logits / temperature
    filters = (_top_k, _top_p) if top_k_first else (_top_p, _top_k)
    logits = filters[1](filters[0](logits, top_k, top_p), top_k, top_p)
    return torch.softmax(logits, dim=-1)


def _top_k(logits: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    if top_k <= 0:
        return logits
    kth = torch.topk(logits, min(top_k, logits.shape[-1]), dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def _top_p(logits: torch.Tensor, top_k: int, top_p: float) -> torch.Tensor:
    if top_p >= 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
    probabilities = torch.softmax(sorted_logits, dim=-1)
    drop = probabilities.cumsum(dim=-1) - probabilities > top_p          # keep through the crossing token
    drop[..., 0] = False
    return logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))


def choose_tokens(logits: torch.Tensor, settings: SamplingSettings, generators: list[torch.Generator]) -> torch.Tensor:
    """One token per row of `logits` [rows, vocab]: argmax when greedy, else inverse-CDF sampling with one
    uniform draw from the row's own generator."""
    if settings.temperature <= 0:
        return logits.argmax(dim=-1)
    probabilities = filtered_probabilities(logits, settings.temperature, settings.top_p, settings.top_k).cpu()
    draws = torch.stack([torch.rand((), generator=g) for g in generators])
    cumulative = probabilities.cumsum(dim=-1)
    cumulative[:, -1] = 1.0 + 1e-6  # guard against rounding below the last draw
    tokens = torch.searchsorted(cumulative, draws.unsqueeze(-1)).squeeze(-1)
    return tokens.to(logits.device)
