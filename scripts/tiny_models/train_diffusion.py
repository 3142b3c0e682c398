"""Masked-diffusion training loop (from the AR weights), its evaluation and loss check."""

from __future__ import annotations

import time

import torch

from .attention import make_bidirectional, position0_changes
from .common import AR_DIR, log
from .data import PackedData
from .losses import diffusion_loss, diffusion_loss_reference, sample_masks
from .optim import lr_at, make_optimizer


def check_diffusion_loss(model, x, mask_id, eps) -> None:
    """The chunked masked-diffusion loss equals the plain version (shift_logits)."""
    fast, _ = diffusion_loss(model, x, mask_id, eps, torch.Generator().manual_seed(7), autocast=False)
    t, masked, inp = sample_masks(x, mask_id, eps, torch.Generator().manual_seed(7))
    ref = diffusion_loss_reference(model, x, t, masked, inp)
    assert torch.allclose(fast, ref, rtol=1e-4, atol=1e-4), (float(fast), float(ref))


@torch.no_grad()
def eval_diffusion(model, windows, mask_id, eps, autocast):
    model.eval()
    gen = torch.Generator().manual_seed(4321)
    n = windows.shape[0]
    t = torch.linspace(0.1, 0.9, n)
    tot = []
    for i in range(0, n, 8):
        l, _ = diffusion_loss(model, windows[i : i + 8], mask_id, eps, gen, autocast, t=t[i : i + 8])
        tot.append(float(l) * windows[i : i + 8].shape[0])
    model.train()
    return round(sum(tot) / n, 4)


def train_diffusion(args, tok, ar_model, train_texts, held_texts):
    model = ar_model  # continue from the AR weights (as Open-dCoder did from Qwen2.5-Coder)
    make_bidirectional(model)
    assert position0_changes(model, len(tok), is_causal=False), "attention is not bidirectional"
    model.train()
    mask_id = tok.mask_token_id
    data = PackedData(tok, train_texts, args.seq_len, args.batch_size, args.seed + 2)
    held = PackedData(tok, held_texts, args.seq_len, 1, 0).windows[: args.eval_n]
    log(f"[diffusion] {len(data.windows)} packed windows of {args.seq_len} tokens; mask id {mask_id}")
    check_diffusion_loss(model, data.windows[:2, :64], mask_id, args.eps)
    gen = torch.Generator().manual_seed(args.seed + 3)
    opt = make_optimizer(model, args.lr_diffusion, 0.1)
    tokens = 0
    hist: list[float] = []
    ev0 = eval_diffusion(model, held, mask_id, args.eps, args.autocast)
    log(f"[diffusion] held-out loss of the AR weights before diffusion training: {ev0}")
    t0 = time.time()
    for step in range(args.steps_diffusion):
        lr = lr_at(step, args.steps_diffusion, args.lr_diffusion, args.warmup_diffusion)
        for g in opt.param_groups:
            g["lr"] = lr
        x = data.next_batch()
        loss, masked_ce = diffusion_loss(model, x, mask_id, args.eps, gen, args.autocast)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        tokens += x.numel()
        hist.append(loss.item())
        if step % args.log_every == 0 or step == args.steps_diffusion - 1:
            el = time.time() - t0
            log(
                f"[diffusion] step {step+1}/{args.steps_diffusion} loss {hist[-1]:.4f} "
                f"(avg20 {sum(hist[-20:])/len(hist[-20:]):.4f}) masked-ce {float(masked_ce):.3f} "
                f"lr {lr:.2e} gn {float(gn):.2f} tok {tokens} {tokens/max(el,1e-9):.0f} tok/s {el:.0f}s"
            )
    wall = time.time() - t0
    final = sum(hist[-20:]) / len(hist[-20:])
    ev = eval_diffusion(model, held, mask_id, args.eps, args.autocast)
    log(f"[diffusion] done in {wall:.0f}s: final train loss (mean of last 20 steps) {final:.4f}; held-out {ev}")
    stats = {
        "objective": (
            "masked diffusion (MDLM/LLaDA): t~U(eps,1) per sequence, each token -> mask with prob t, "
            "bidirectional attention, shifted head (row j predicts token j from hidden j-1), "
            "CE on masked tokens weighted by 1/t, normalised by sequence length"
        ),
        "init": f"{AR_DIR} weights after {args.steps_ar} AR steps",
        "eps": args.eps,
        "steps": args.steps_diffusion,
        "batch_size": args.batch_size,
        "seq_len": args.seq_len,
        "data": "plain text, documents packed with <|endoftext|> separators into fixed windows",
        "seed": args.seed,
        "lr_peak": args.lr_diffusion,
        "lr_schedule": f"linear warmup {args.warmup_diffusion} steps, cosine to 10%",
        "optimizer": "AdamW(betas=(0.9,0.95), wd=0.1), grad clip 1.0",
        "bf16_autocast": args.autocast,
        "tokens_seen": tokens,
        "final_loss": round(final, 4),
        "final_loss_definition": "mean training loss (1/t-weighted ELBO, nats/token) of the last 20 steps",
        "eval_loss_heldout": {"before_diffusion_training": ev0, "after": ev},
        "wall_time_s": round(wall, 1),
    }
    return model, stats
