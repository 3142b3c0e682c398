"""Training losses: chunked linear cross-entropy, AR and masked-diffusion objectives
and their plain full-logits references."""

from __future__ import annotations

import torch
import torch.nn.functional as F


class _LinearCrossEntropy(torch.autograd.Function):
    """sum_i w_i * CE(h_i @ W^T, y_i), computed in row chunks so that the
    (tokens x vocab) logits never exist at once; gradients are produced in the
    forward pass. Same result as the plain computation (checked at start-up),
    about 2-3x faster on one CPU thread because the head + softmax dominate
    the cost of such a small model."""

    @staticmethod
    def forward(ctx, h, W, targets, weights, chunk):
        n = h.shape[0]
        ce = torch.empty(n, dtype=torch.float32)
        gh = torch.empty_like(h)
        gW = torch.zeros_like(W)
        for s in range(0, n, chunk):
            hc, tc = h[s : s + chunk], targets[s : s + chunk]
            logits = hc @ W.t()
            lse = torch.logsumexp(logits, dim=1)
            ce[s : s + chunk] = lse - logits.gather(1, tc[:, None]).squeeze(1)
            p = logits.sub_(lse[:, None]).exp_()  # softmax, in place
            p[torch.arange(len(tc)), tc] -= 1.0
            p.mul_(weights[s : s + chunk, None])
            gh[s : s + chunk] = p @ W
            gW.addmm_(p.t(), hc)
        ctx.save_for_backward(gh, gW)
        ctx.mark_non_differentiable(ce)
        return (ce * weights).sum(), ce

    @staticmethod
    def backward(ctx, grad, _grad_ce):
        gh, gW = ctx.saved_tensors
        return gh * grad, gW * grad, None, None, None


CE_CHUNK = 128


def linear_cross_entropy(h, W, targets, weights):
    """Returns (sum_i w_i * ce_i, ce) for rows h (n, d), tied head W (V, d)."""
    h = h.float()
    if torch.is_grad_enabled() and (h.requires_grad or W.requires_grad):
        return _LinearCrossEntropy.apply(h, W, targets, weights, CE_CHUNK)
    ce = torch.cat(
        [
            torch.logsumexp(lg := h[s : s + CE_CHUNK] @ W.t(), 1)
            - lg.gather(1, targets[s : s + CE_CHUNK, None]).squeeze(1)
            for s in range(0, h.shape[0], CE_CHUNK)
        ]
    ) if h.shape[0] else h.new_zeros(0)
    return (ce * weights).sum(), ce


def hidden_states(model, input_ids, autocast, **kwargs):
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        return model.model(input_ids=input_ids, **kwargs).last_hidden_state


def ar_loss(model, x, valid, mid, autocast):
    """Next-token CE averaged over the non-padding targets; also the mean CE of
    the FIM middle tokens (incl. the closing <|endoftext|>) for monitoring."""
    h = hidden_states(model, x, autocast)
    m = valid[:, 1:]
    rows = h[:, :-1][m]
    tgt = x[:, 1:][m]
    n = int(m.sum())
    loss, ce = linear_cross_entropy(rows, model.lm_head.weight, tgt, torch.full((n,), 1.0 / n))
    mm = mid[:, 1:][m]
    mid_loss = ce[mm].mean() if mm.any() else torch.tensor(float("nan"))
    return loss, mid_loss, n


def ar_loss_reference(model, x, valid):
    """Plain full-logits version of ``ar_loss`` (used to check it)."""
    logits = model(input_ids=x).logits[:, :-1].float()
    tgt, m = x[:, 1:], valid[:, 1:]
    ce = F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt.reshape(-1), reduction="none").view_as(tgt)
    return (ce * m).sum() / m.sum()


def shift_logits(logits: torch.Tensor) -> torch.Tensor:
    """Dream / Open-dCoder shifted head: row j of the result predicts token j."""
    return torch.cat([logits[:, :1], logits[:, :-1]], dim=1)


def sample_masks(x, mask_id, eps, gen, t=None):
    B, L = x.shape
    if t is None:
        t = eps + (1 - eps) * torch.rand(B, generator=gen)
    masked = torch.rand(B, L, generator=gen) < t[:, None]
    return t, masked, torch.where(masked, torch.full_like(x, mask_id), x)


def diffusion_loss(model, x, mask_id, eps, gen: torch.Generator, autocast, t=None):
    """Masked-diffusion loss (MDLM/LLaDA): t ~ U(eps, 1) per sequence, each token
    masked with probability t, bidirectional attention, shifted head, CE on the
    masked tokens weighted by 1/t, normalised by the sequence length (and the
    batch size). Only the rows of masked tokens go through the head: with the
    shifted head, token j is predicted from hidden state max(j - 1, 0)."""
    B, L = x.shape
    t, masked, inp = sample_masks(x, mask_id, eps, gen, t)
    h = hidden_states(model, inp, autocast, is_causal=False)
    b_idx, j_idx = masked.nonzero(as_tuple=True)
    rows = h[b_idx, (j_idx - 1).clamp(min=0)]
    weights = 1.0 / (t[b_idx] * L * B)
    loss, ce = linear_cross_entropy(rows, model.lm_head.weight, x[b_idx, j_idx], weights)
    masked_ce = ce.mean() if ce.numel() else torch.tensor(float("nan"))
    return loss, masked_ce


def diffusion_loss_reference(model, x, t, masked, inp):
    """The same objective written the plain way (full logits + shift_logits)."""
    B, L = x.shape
    logits = shift_logits(model(input_ids=inp, is_causal=False).logits).float()
    ce = F.cross_entropy(logits.reshape(-1, logits.size(-1)), x.reshape(-1), reduction="none").view(B, L)
    return ((ce * masked).sum(dim=1) / t).sum() / (B * L)
