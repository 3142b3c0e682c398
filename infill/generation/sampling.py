"""Seeded token sampling that does not depend on the batch: every sample owns its random stream.

A sample's stream is seeded from (run seed, sample id), and each row draws one uniform number per step from its
own stream, so the same seed gives the same completion whatever the batch size, order or neighbours.

The logits go through transformers' processors in `model.generate`'s order (transformers 5.24,
`GenerationMixin._get_logits_processor`), on float32 logits as `generate` casts them:
1. repetition penalty (RepetitionPenaltyLogitsProcessor: every token id in the row's prompt, padding excluded, and
   in its generated tokens, once: a negative logit is multiplied by the penalty, a positive one divided) - also
   when greedy, as in `generate`;
2. when sampling: temperature, top-k (logits below the k-th largest -> -inf), top-p (TopPLogitsWarper: ascending
   sort, tokens whose cumulative probability is <= 1 - top_p removed, the most probable always kept);
3. softmax, then one inverse-CDF draw from the row's own stream (transformers draws with torch.multinomial from
   the global generator instead: same distribution, batch-independent draws).
Greedy (temperature 0) takes the argmax after step 1. The settings `generate` would use are resolved by
`infill.generation.sampling_config`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch

from infill.generation.row_sort import sorted_values
from infill.generation.sampling_config import SAMPLING_VERSION  # noqa: F401  (the version of this module's rules)


@dataclass(frozen=True)
class SamplingSettings:
    temperature: float = 0.0      # 0: greedy
    top_p: float = 1.0
    top_k: int = 0                # 0: off
    seed: int = 0
    repetition_penalty: float = 1.0   # 1.0: off


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


def penalise_repetitions(scores: torch.Tensor, seen: torch.Tensor, penalty: float) -> torch.Tensor:
    """RepetitionPenaltyLogitsProcessor on float32 `scores` [rows, vocab]; `seen` [rows, vocab] marks the token
    ids already in each row (prompt and generated)."""
    penalised = torch.where(scores < 0, scores * penalty, scores / penalty)
    return torch.where(seen, penalised, scores)


def warped_scores(scores: torch.Tensor, temperature: float, top_p: float, top_k: int) -> torch.Tensor:
    """Temperature, top-k, top-p as transformers' warpers compute them (float32 `scores` [rows, vocab])."""
    if temperature != 1.0:
        scores = scores / temperature
    if top_k > 0:
        kth = torch.topk(scores, min(top_k, scores.shape[-1]))[0][..., -1, None]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    if top_p < 1.0:
        scores = scores.masked_fill(top_p_removed(scores, top_p), float("-inf"))
    return scores


def top_p_removed(scores: torch.Tensor, top_p: float) -> torch.Tensor:
    """TopPLogitsWarper's removal mask, from the sorted values alone.

    The warper sorts each row ascending (torch.sort, indices too), removes the first k sorted positions, those whose
    cumulative softmax is <= 1 - top_p (never the last), and scatters that back through the indices. The cumulative
    values depend only on the sorted values (`row_sort`), and when the k-th and (k+1)-th sorted values differ, the
    first k positions are exactly the tokens whose value is at most the k-th, whatever order the sort gave equal
    values. Only a tie across that cut leaves the choice to torch.sort's order among equals: such batches take the
    warper's own indexed sort, so the mask is always the warper's."""
    ascending = sorted_values(scores, descending=False)
    cut = removed_prefix(ascending, top_p).sum(dim=-1, keepdim=True)   # k: a prefix, the cumulative sum never falls
    last_removed = ascending.gather(-1, (cut - 1).clamp(min=0))
    first_kept = ascending.gather(-1, cut.clamp(max=ascending.shape[-1] - 1))
    if bool(((cut > 0) & (last_removed == first_kept)).any()):
        ordered, order = torch.sort(scores, descending=False)
        remove = removed_prefix(ordered, top_p)
        return remove.scatter(1, order, remove)
    return (scores <= last_removed) & (cut > 0)


def removed_prefix(ascending: torch.Tensor, top_p: float) -> torch.Tensor:
    """The sorted positions TopPLogitsWarper removes, on rows sorted ascending."""
    remove = ascending.softmax(dim=-1).cumsum(dim=-1) <= (1 - top_p)
    remove[..., -1:] = False                                        # the most probable token always stays
    return remove


def filtered_probabilities(logits: torch.Tensor, temperature: float, top_p: float, top_k: int) -> torch.Tensor:
    """The sampling distribution of each row: float32 softmax of the warped logits."""
    return torch.softmax(warped_scores(logits.float(), temperature, top_p, top_k), dim=-1)


def choose_tokens(logits: torch.Tensor, settings: SamplingSettings, generators: list[torch.Generator],
                  seen: torch.Tensor | None = None) -> torch.Tensor:
    """One token per row of `logits` [rows, vocab]: the repetition penalty (needs `seen`), then the argmax when
    greedy, else inverse-CDF sampling with one uniform draw from the row's own generator."""
    if settings.temperature <= 0 and settings.repetition_penalty == 1.0:
        return logits.argmax(dim=-1)                            # the float32 cast would not change the argmax
    scores = logits.float()
    if settings.repetition_penalty != 1.0:
        scores = penalise_repetitions(scores, seen, settings.repetition_penalty)
    if settings.temperature <= 0:
        return scores.argmax(dim=-1)
    probabilities = torch.softmax(warped_scores(scores, settings.temperature, settings.top_p, settings.top_k), -1)
    draws = torch.stack([torch.rand((), generator=g) for g in generators]).to(probabilities.device)
    cumulative = probabilities.cumsum(dim=-1)
    cumulative[:, -1] = 1.0 + 1e-6  # guard against rounding below the last draw
    return torch.searchsorted(cumulative, draws.unsqueeze(-1)).squeeze(-1)
