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

ENTROPY_CLAMP = 1e-10
TOP_N_ALGORITHMS = ("maskgit_plus", "topk_margin", "entropy")


def filtered_logits(logits: torch.Tensor, temperature: float, top_p: float, top_k: int) -> torch.Tensor:
    """Temperature, top-p, top-k in the reference's order and dtype (rows of `logits` [n, vocab])."""
    lowest = torch.finfo(logits.dtype).min
    if temperature > 0:
        logits = logits / temperature
    if top_p is not None and top_p < 1:
        ordered, order = torch.sort(logits, descending=True, stable=True)   # CUDA sorts rows > 32 stably
        above = torch.cumsum(torch.softmax(ordered, dim=-1), dim=-1) > top_p
        remove = torch.zeros_like(above)
        remove[..., 1:] = above[..., :-1]                  # keep through the token that crosses top_p
        logits = logits.masked_fill(torch.zeros_like(remove).scatter(-1, order, remove), lowest)
    if top_k:
        kth = torch.topk(logits, min(top_k, logits.shape[-1])).values[..., -1:]
        logits = logits.masked_fill(logits < kth, lowest)
    return logits


def sample_with_confidence(logits: torch.Tensor, uniforms: torch.Tensor, settings: DiffusionSettings):
    """Tokens and confidences (float64, for ranking) for rows of `logits` [n, vocab]; `uniforms` [n] drive the
    inverse-CDF draw when sampling."""
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
        confidence = (probabilities * torch.log(probabilities.clamp(min=ENTROPY_CLAMP))).sum(dim=-1)
    else:
        confidence = probabilities.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
    if settings.alg in TOP_N_ALGORITHMS:
        confidence = confidence.to(logits.dtype)
    return tokens, confidence.double()
