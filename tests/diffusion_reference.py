"""A straightforward implementation of Open-dCoder's sampler, kept as the reference for the fast one.

One sample at a time, every step runs the model over the whole canvas, full-vocabulary logits at every position,
the shift done as the reference does it (`cat([logits[:, :1], logits[:, :-1]])`). It shares with the fast
sampler only the definition of its random numbers (`step_uniforms`), so that sampled runs can be compared.
"""

from __future__ import annotations

import math

import torch

from infill.generation.diffusion import step_uniforms


def probabilities(logits, temperature, top_p, top_k):
    """Temperature, top-p (keep through the crossing token, top-1 always), top-k; vectorised like the
    reference's own code, so that the speed comparison is fair."""
    logits = logits.float()
    if temperature > 0:
        logits = logits / temperature
    if top_p < 1.0:
        values, order = torch.sort(logits, descending=True, dim=-1)
        before = torch.cumsum(torch.softmax(values, dim=-1), dim=-1) - torch.softmax(values, dim=-1)
        remove_sorted = before > top_p
        remove_sorted[:, 0] = False
        remove = torch.zeros_like(remove_sorted).scatter(1, order, remove_sorted)
        logits = logits.masked_fill(remove, float("-inf"))
    if top_k > 0:
        kth = torch.sort(logits, descending=True, dim=-1).values[:, top_k - 1:top_k]
        logits = torch.where(logits < kth, torch.full_like(logits, float("-inf")), logits)
    return torch.softmax(logits, dim=-1)


def sample(logits, uniforms, settings):
    probs = probabilities(logits, settings.temperature, settings.top_p, settings.top_k)
    if settings.temperature > 0:
        cumulative = torch.cumsum(probs.double(), dim=-1)
        # the first token whose cumulative probability exceeds the draw (the last one if rounding leaves none)
        tokens = (cumulative <= uniforms.unsqueeze(-1)).sum(dim=-1).clamp(max=probs.shape[1] - 1)
    else:
        tokens = probs.argmax(dim=-1)
    if settings.alg == "topk_margin":
        top = torch.sort(probs, descending=True, dim=-1).values
        confidence = top[:, 0] - top[:, 1]
    elif settings.alg == "entropy":
        confidence = (probs * torch.log(probs.clamp_min(1e-30))).sum(-1)
    else:
        confidence = probs[torch.arange(len(tokens)), tokens]
    return tokens.tolist(), confidence.double().tolist()


def least_confident_last(positions, scores):
    return [p for _, p in sorted(zip(scores, positions), key=lambda sp: (-sp[0], sp[1]))]


@torch.no_grad()
def reference_infill(model, tokenizer, prefix, suffix, length, settings, sample_id, trace=None):
    mask = tokenizer.mask_token_id
    enc = lambda s: tokenizer.encode(s, add_special_tokens=False, split_special_tokens=True)
    head = enc(prefix)
    x = head + [mask] * length + enc(suffix)
    x = x[-2048:]
    start = len(head) - (len(head) + length + len(enc(suffix)) - len(x))
    variable = list(range(start, start + length))
    times = torch.linspace(1, settings.eps, settings.steps + 1, dtype=torch.float64)
    for i in range(settings.steps):
        model.config.is_causal = False
        logits = model(input_ids=torch.tensor([x]), is_causal=False).logits
        logits = torch.cat([logits[:, :1], logits[:, :-1]], dim=1)[0]
        token_u, select_u = step_uniforms(settings.seed, sample_id, i, len(x))
        masked = [p for p in variable if x[p] == mask]
        if settings.alg == "p2_remask":
            tokens, confidence = sample(logits[variable], token_u[variable], settings)
            keep = math.floor(length * (1 - (i + 1) / settings.steps))
            ranked = least_confident_last(variable, confidence)
            remasked = set(ranked[len(ranked) - keep:]) if keep else set()
            for p, token in zip(variable, tokens):
                if p in remasked:
                    x[p] = mask
                elif p in masked:
                    x[p] = token
        elif masked:
            tokens, confidence = sample(logits[masked], token_u[masked], settings)
            if settings.alg == "p2":
                keep = math.floor(length * (1 - (i + 1) / settings.steps))
                reveal = least_confident_last(masked, confidence)[: max(len(masked) - keep, 0)]
            elif settings.alg == "origin":
                t, s = float(times[i]), float(times[i + 1])
                chance = 1.0 if i == settings.steps - 1 else 1 - s / t
                reveal = [p for p in masked if float(select_u[p]) < chance]
            else:
                t, s = float(times[i]), float(times[i + 1])
                n = len(masked) if i == settings.steps - 1 else math.floor(len(masked) * (1 - s / t))
                scores = confidence
                if settings.alg_temp > 0:
                    scores = [c / settings.alg_temp - math.log(-math.log(min(max(float(select_u[p]), 1e-12),
                                                                                1 - 1e-12)))
                              for c, p in zip(confidence, masked)]
                reveal = least_confident_last(masked, scores)[:n]
            for p, token in zip(masked, tokens):
                if p in reveal:
                    x[p] = token
        if trace is not None:
            trace.append(sum(x[p] == mask for p in variable))
    return tokenizer.decode([t for t in x[start:start + length] if t != mask], skip_special_tokens=True)
