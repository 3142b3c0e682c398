"""Open-dCoder's `sample_tokens`: a token and a confidence per canvas position, in the reference's arithmetic.

As the reference computes them (Open-dLLM, veomni/models/transformers/qwen2/generation_utils.py):
- logits / temperature (when > 0), then top-p, then top-k, all in the logits' own dtype (bf16 on a GPU), filtered
  tokens set to the dtype's lowest value; top-p removes a token when the cumulative probability before it (the
  running sum in that dtype) is above top_p, and always keeps the top-1; then softmax in float32.
- x0: the argmax when greedy, else a draw from the categorical (here: inverse-CDF with the given uniforms).
- confidence: p(x0); `topk_margin`: top-1 minus top-2 probability; `entropy`: sum p log p, with p clamped below at
  1e-10 inside the log (the reference's clamp).
- the top-n algorithms (maskgit_plus, topk_margin, entropy) round the confidence to the logits' dtype before
  ranking (`confidence.to(mask_logits.dtype)`); p2 ranks the float32 confidence.
On CPU (float32 models) every dtype step above is float32, so only the rules matter.
"""

from __future__ import annotations

import torch

from infill.config.settings import DiffusionSettings
from infill.generation.row_sort import sorted_values

ENTROPY_CLAMP = 1e-10
TOP_N_ALGORITHMS = ("maskgit_plus", "topk_margin", "entropy")


def filtered_logits(logits: torch.Tensor, temperature: float, top_p: float, top_k: int) -> torch.Tensor:
    """Temperature, top-p, top-k in the reference's order and dtype (rows of `logits` [n, vocab])."""
    lowest = torch.finfo(logits.dtype).min
    if temperature > 0:
        logits = logits / temperature
    if top_p is not None and top_p < 1:
        logits = logits.masked_fill(~top_p_kept(logits, top_p), lowest)
    if top_k:
        kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[..., -1:]
        logits = logits.masked_fill(logits < kth, lowest)
    return logits


def top_p_kept(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """The tokens the reference's top-p keeps (rows of `logits` [n, vocab]), without its stable argsort.

    The reference sorts each row descending with a stable sort, takes the cumulative softmax of the sorted values
    and keeps sorted positions 0..j, j the first whose cumulative probability is above top_p (all when none is).
    The cumulative values depend only on the sorted VALUES, which any sort gives (equal values are equal, -0.0 and
    0.0 included, so their order cannot change a sum): here `row_sort.sorted_values`, several times cheaper than a
    stable argsort of the vocabulary. The same softmax and cumsum calls on the same rows give the same bits (each
    row is reduced on its own). The kept set is then every token above the j-th value and, among the tokens equal
    to it, the leftmost ones up to j + 1 in all: the stable sort's order among equals."""
    ordered = sorted_values(logits, descending=True)
    above = torch.cumsum(torch.softmax(ordered, dim=-1), dim=-1) > top_p    # False ... False True ... True
    crossed = above.any(dim=-1, keepdim=True)
    last = torch.where(crossed, above.to(torch.uint8).argmax(dim=-1, keepdim=True), logits.shape[-1] - 1)
    threshold = ordered.gather(-1, last)
    kept = logits >= threshold
    surplus = kept.sum(dim=-1, keepdim=True) - (last + 1)          # equals beyond position j (ties at the cut)
    if bool((surplus > 0).any()):
        equal = logits == threshold
        room = (last + 1) - (logits > threshold).sum(dim=-1, keepdim=True)
        kept = (logits > threshold) | (equal & (equal.cumsum(dim=-1) <= room))
    return kept | ~crossed


def sample_with_confidence(logits: torch.Tensor, uniforms: torch.Tensor, settings: DiffusionSettings,
                           groups: list[int] | None = None):
    """Tokens and confidences (float64, for ranking) for rows of `logits` [n, vocab]; `uniforms` [n] drive the
    inverse-CDF draw when sampling. Every step is computed row by row, so the rows of several canvases can come in
    one call; `groups` (rows per canvas) keeps the entropy's sum over each canvas's rows apart, because a sum over a
    single long row is split across threads and so rounds otherwise than within several rows."""
    probabilities = torch.softmax(filtered_logits(logits, settings.temperature, settings.top_p, settings.top_k)
                                  .float(), dim=-1)
    if settings.temperature > 0:
        cumulative = probabilities.double().cumsum(dim=-1)
        cumulative[:, -1] = 1.0 + 1e-9                     # a draw above a rounded-down total takes the last token
        tokens = torch.searchsorted(cumulative, uniforms.to(cumulative.device).unsqueeze(-1)).squeeze(-1)
    else:
        tokens = probabilities.argmax(dim=-1)
    if settings.alg == "topk_margin":
        top2 = torch.topk(probabilities, 2, dim=-1).values
        confidence = top2[:, 0] - top2[:, 1]
    elif settings.alg == "entropy":
        terms = probabilities * torch.log(probabilities.clamp(min=ENTROPY_CLAMP))
        confidence = torch.cat([part.sum(dim=-1) for part in terms.split(groups or [len(terms)])])
    else:
        confidence = probabilities.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
    if settings.alg in TOP_N_ALGORITHMS:
        confidence = confidence.to(logits.dtype)
    return tokens, confidence.double()
