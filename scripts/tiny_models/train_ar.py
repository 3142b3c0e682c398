"""Autoregressive FIM training loop, its held-out evaluation and loss check."""

from __future__ import annotations

import random
import time

import torch

from .attention import position0_changes
from .common import log
from .data import ARData
from .losses import ar_loss, ar_loss_reference
from .model import new_model
from .optim import lr_at, make_optimizer


@torch.no_grad()
def eval_ar(model, data: ARData, held_chunks, n, autocast):
    model.eval()
    rng = random.Random(999)
    docs = [held_chunks[i] for i in sorted(rng.sample(range(len(held_chunks)), min(n, len(held_chunks))))]
    fim = [data.encode_example(rng, d, True, mode="line") for d in docs if sum(1 for l in d.splitlines() if l.strip())]
    plain = [data.encode_example(rng, d, False) for d in docs]
    out = {}
    for name, exs in (("fim_line", fim), ("plain", plain)):
        tot = mid_tot = 0.0
        for i in range(0, len(exs), 8):
            x, valid, mid = data.collate(exs[i : i + 8])
            l, ml, _ = ar_loss(model, x, valid, mid, autocast)
            tot += float(l) * len(exs[i : i + 8])
            mid_tot += float(ml) * len(exs[i : i + 8])
        out[name] = round(tot / len(exs), 4)
        if name == "fim_line":
            out["fim_line_middle"] = round(mid_tot / len(exs), 4)
    model.train()
    return out


def check_ar_loss(model, data: ARData) -> None:
    """The chunked training loss equals the plain full-logits loss."""
    rng = random.Random(0)
    exs = [data.encode_example(rng, data.chunks[i], i % 2 == 0) for i in range(3)]
    x, valid, mid = data.collate(exs)
    fast, _, _ = ar_loss(model, x, valid, mid, autocast=False)
    ref = ar_loss_reference(model, x, valid)
    assert torch.allclose(fast, ref, rtol=1e-4, atol=1e-4), (float(fast), float(ref))


def train_ar(args, tok, train_chunks, held_chunks):
    model = new_model(args, tok)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"[ar] Qwen2 model: {n_params/1e6:.2f}M parameters (tied embeddings)")
    model.train()
    assert not position0_changes(model, len(tok)), "AR model must be causal"
    data = ARData(tok, train_chunks, args.seq_len, args.batch_size, args.seed + 1, fim_rate=0.5)
    check_ar_loss(model, data)
    opt = make_optimizer(model, args.lr_ar, 0.1)
    tokens = 0
    hist: list[float] = []
    t0 = time.time()
    for step in range(args.steps_ar):
        lr = lr_at(step, args.steps_ar, args.lr_ar, args.warmup_ar)
        for g in opt.param_groups:
            g["lr"] = lr
        x, valid, mid = data.next_batch()
        loss, mid_loss, ntok = ar_loss(model, x, valid, mid, args.autocast)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        tokens += ntok
        hist.append(loss.item())
        if step % args.log_every == 0 or step == args.steps_ar - 1:
            el = time.time() - t0
            log(
                f"[ar] step {step+1}/{args.steps_ar} loss {hist[-1]:.4f} "
                f"(avg20 {sum(hist[-20:])/len(hist[-20:]):.4f}) fim-mid {float(mid_loss):.3f} "
                f"lr {lr:.2e} gn {float(gn):.2f} tok {tokens} {tokens/max(el,1e-9):.0f} tok/s {el:.0f}s"
            )
    wall = time.time() - t0
    final = sum(hist[-20:]) / len(hist[-20:])
    ev = eval_ar(model, data, held_chunks, args.eval_n, args.autocast)
    log(f"[ar] done in {wall:.0f}s: final train loss (mean of last 20 steps) {final:.4f}; held-out {ev}")
    stats = {
        "objective": "causal LM; 50% FIM (PSM, Qwen2.5-Coder tokens), 50% plain left-to-right",
        "fim_rate": 0.5,
        "fim_split_modes": {"single whole line": 0.5, "2-8 whole lines": 0.2, "random char boundaries": 0.3},
        "steps": args.steps_ar,
        "batch_size": args.batch_size,
        "seq_len": args.seq_len,
        "seed": args.seed,
        "lr_peak": args.lr_ar,
        "lr_schedule": f"linear warmup {args.warmup_ar} steps, cosine to 10%",
        "optimizer": "AdamW(betas=(0.9,0.95), wd=0.1), grad clip 1.0",
        "bf16_autocast": args.autocast,
        "tokens_seen": tokens,
        "final_loss": round(final, 4),
        "final_loss_definition": "mean training loss (nats/token) of the last 20 steps",
        "eval_loss_heldout": ev,
        "wall_time_s": round(wall, 1),
        "n_params": n_params,
    }
    return model, stats
