"""A straightforward implementation of Open-dCoder's sampler, kept as the reference for the fast one.

One sample at a time, every step runs the model over the whole canvas, full-vocabulary logits at every position,
the shift done as the reference does it (`cat([logits[:, :1], logits[:, :-1]])`), every schedule count computed
with torch float32 tensors written as the reference writes them, ties broken as the reference's stable sort and
topk do on a GPU. It shares with the fast sampler only the definition of its random numbers (`step_uniforms`),
so that sampled runs can be compared.
"""

from __future__ import annotations

import math

import torch

from infill.generation.diffusion import step_uniforms


def sample_tokens(logits, uniforms, settings):
    """The reference's `sample_tokens`: temperature, top-p, top-k in the logits' dtype, softmax in float32."""
    lowest = torch.finfo(logits.dtype).min
    if settings.temperature > 0:
        logits = logits / settings.temperature
    if settings.top_p is not None and settings.top_p < 1:
        sorted_logits, sorted_indices = torch.sort(logits, descending=True, stable=True)
        cumulative_probs = torch.cumsum(torch.softmax(sorted_logits, dim=-1), dim=-1)
        remove = cumulative_probs > settings.top_p
        remove[..., 1:] = remove[..., :-1].clone()
        remove[..., 0] = False
        mask = torch.zeros_like(logits, dtype=torch.bool).scatter_(-1, sorted_indices, remove)
        logits = logits.masked_fill(mask, lowest)
    if settings.top_k:
        logits = logits.masked_fill(logits < torch.topk(logits, settings.top_k)[0][..., -1, None], lowest)
    probs = torch.softmax(logits.float(), dim=-1)
    if settings.temperature > 0:
        cumulative = torch.cumsum(probs.double(), dim=-1)
        # the first token whose cumulative probability exceeds the draw (the last one if rounding leaves none)
        tokens = (cumulative <= uniforms.unsqueeze(-1)).sum(dim=-1).clamp(max=probs.shape[1] - 1)
    else:
        tokens = probs.max(dim=-1).indices
    confidence = probs[torch.arange(len(tokens)), tokens]
    if settings.alg == "topk_margin":
        top = torch.sort(probs, descending=True, dim=-1).values
        confidence = top[:, 0] - top[:, 1]
    elif settings.alg == "entropy":
        confidence = (probs * torch.log(probs.clamp(min=1e-10))).sum(-1)
    if settings.alg in ("maskgit_plus", "topk_margin", "entropy"):
        confidence = confidence.to(logits.dtype)
    return tokens.tolist(), confidence.double().tolist()


def masks_to_keep(length, i, steps):
    """p2: `(num_positions.float() * (1 - kappa_t)).long()`, kappa_t a Python float."""
    kappa_t = (i + 1) / steps
    return int((torch.tensor([length]).float() * (1 - kappa_t)).long())


def lowest_first(positions, confidence):
    """A stable ascending argsort: among equal confidences the leftmost comes first."""
    return [p for _, p in sorted(zip(confidence, positions))]


def highest_first(positions, scores):
    """torch.topk on a GPU: among equal scores the leftmost is taken first."""
    return [p for _, p in sorted(zip(scores, positions), key=lambda sp: (-sp[0], sp[1]))]


def gumbel_scores(confidence, positions, select_u, alg_temp):
    return [c / alg_temp - math.log(-math.log(min(max(float(select_u[p]), 1e-12), 1 - 1e-12)))
            for c, p in zip(confidence, positions)]


@torch.no_grad()
def reference_infill(model, tokenizer, prefix, suffix, length, settings, sample_id, trace=None):
    mask = tokenizer.mask_token_id
    enc = lambda s: tokenizer.encode(s, add_special_tokens=False, split_special_tokens=True)
    head = enc(prefix)
    x = head + [mask] * length + enc(suffix)
    x = x[-2048:]
    start = len(head) - (len(head) + length + len(enc(suffix)) - len(x))
    variable = list(range(start, start + length))
    timesteps = torch.linspace(1, settings.eps, settings.steps + 1)      # float32, as in the reference
    for i in range(settings.steps):
        model.config.is_causal = False
        logits = model(input_ids=torch.tensor([x]), is_causal=False).logits
        logits = torch.cat([logits[:, :1], logits[:, :-1]], dim=1)[0]
        token_u, select_u = step_uniforms(settings.seed, sample_id, i, len(x))
        masked = [p for p in variable if x[p] == mask]
        t, s = timesteps[i], timesteps[i + 1]
        if settings.alg == "p2_remask":
            tokens, confidence = sample_tokens(logits[variable], token_u[variable], settings)
            remasked = set(lowest_first(variable, confidence)[:masks_to_keep(length, i, settings.steps)])
            for p, token in zip(variable, tokens):
                if p in remasked:
                    x[p] = mask
                elif p in masked:
                    x[p] = token
        elif masked:
            tokens, confidence = sample_tokens(logits[masked], token_u[masked], settings)
            if settings.alg == "p2":
                stay = set(lowest_first(masked, confidence)[:masks_to_keep(length, i, settings.steps)])
                reveal = [p for p in masked if p not in stay]
            elif settings.alg == "origin":
                p_transfer = 1 - s / t if i < settings.steps - 1 else 1
                reveal = [p for p in masked if float(select_u[p]) < float(p_transfer)]
            else:
                if i < settings.steps - 1:
                    n = int((torch.tensor([len(masked)]).float() * (1 - s / t)).long())
                else:
                    n = len(masked)
                scores = confidence
                if settings.alg_temp > 0:
                    scores = gumbel_scores(confidence, masked, select_u, settings.alg_temp)
                reveal = highest_first(masked, scores)[:n]
            for p, token in zip(masked, tokens):
                if p in reveal:
                    x[p] = token
        if trace is not None:
            trace.append(sum(x[p] == mask for p in variable))
    return tokenizer.decode([t for t in x[start:start + length] if t != mask], skip_special_tokens=True)
