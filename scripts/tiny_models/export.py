"""Saving the model directories and the final checks / samples on the saved models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from .attention import make_bidirectional, position0_changes
from .common import AR_DIR, DIFF_DIR, EOS, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX, MASK, SPECIAL_TOKENS, log
from .losses import shift_logits
from .tokenizer import encode


def save_model(model, tok, path: Path, meta: dict) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    # Saved as a plain causal-LM config (like the real Open-dCoder); callers flip it.
    if "is_causal" in model.config.__dict__:
        del model.config.is_causal
    model = model.to(torch.bfloat16)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.bos_token_id = None
    model.save_pretrained(path)
    tok.save_pretrained(path)
    # drop loader bookkeeping that transformers writes back into the config
    tc_path = path / "tokenizer_config.json"
    tc = json.loads(tc_path.read_text())
    for k in ("is_local", "local_files_only", "_commit_hash"):
        tc.pop(k, None)
    tc_path.write_text(json.dumps(tc, indent=2, ensure_ascii=False) + "\n")
    saved_cfg = json.loads((path / "config.json").read_text())
    assert "is_causal" not in saved_cfg, "config.json must stay a plain causal config"
    (path / "infill_model.json").write_text(json.dumps(meta, indent=2) + "\n")


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@torch.no_grad()
def greedy_fim(model, tok, prefix: str, suffix: str, max_new_tokens: int = 24) -> str:
    ids = (
        [tok.convert_tokens_to_ids(FIM_PREFIX)]
        + encode(tok, prefix)
        + [tok.convert_tokens_to_ids(FIM_SUFFIX)]
        + encode(tok, suffix)
        + [tok.convert_tokens_to_ids(FIM_MIDDLE)]
    )
    x = torch.tensor([ids])
    out = []
    for _ in range(max_new_tokens):
        nxt = int(model(input_ids=x).logits[0, -1].argmax())
        if nxt == tok.eos_token_id:
            break
        out.append(nxt)
        x = torch.cat([x, torch.tensor([[nxt]])], dim=1)
    return tok.decode(out)


@torch.no_grad()
def diffusion_fill(model, tok, prefix: str, suffix: str, n_mask: int = 12) -> str:
    """Tiny canvas infill: prefix + n_mask masks + suffix; unmask the most
    confident position one at a time (bidirectional, shifted logits)."""
    mask_id = tok.mask_token_id
    p = encode(tok, prefix)
    s = encode(tok, suffix)
    x = torch.tensor([p + [mask_id] * n_mask + s])
    for _ in range(n_mask):
        logits = shift_logits(model(input_ids=x, is_causal=False).logits).float()[0]
        logits[:, mask_id] = -float("inf")
        probs = logits.softmax(-1)
        conf, tokid = probs.max(-1)
        conf[x[0] != mask_id] = -1
        j = int(conf.argmax())
        x[0, j] = tokid[j]
    return tok.decode(x[0, len(p) : len(p) + n_mask].tolist())


HOLES = [
    ("def add(a, b):\n", "\n\n\nprint(add(1, 2))\n"),
    ("def is_even(n):\n    ", "\n"),
    ("import os\n\n\ndef exists(path):\n    try:\n        os.stat(path)\n    except OSError:\n", "    return True\n"),
    ("class Point:\n    def __init__(self, x, y):\n        self.x = x\n", "\n"),
]


def final_checks(out: Path, vocab_size: int) -> dict:
    ar_dir, diff_dir = out / AR_DIR, out / DIFF_DIR
    samples = {"ar_fim": [], "diffusion_canvas": []}
    for d in (ar_dir, diff_dir):
        tok = AutoTokenizer.from_pretrained(d)
        assert tok.mask_token == MASK and tok.mask_token_id == SPECIAL_TOKENS.index(MASK)
        assert tok.eos_token == EOS and tok.pad_token == EOS and tok.bos_token is None
        assert len(tok) == vocab_size
        snippet = "def f(x):\n    return x  # ok\n"
        assert tok.decode(tok.encode(snippet, add_special_tokens=False)) == snippet
    tok = AutoTokenizer.from_pretrained(ar_dir)
    ar = AutoModelForCausalLM.from_pretrained(ar_dir, dtype=torch.float32).eval()
    assert type(ar).__name__ == "Qwen2ForCausalLM"
    assert not position0_changes(ar, vocab_size), "AR model leaks future tokens"
    diff = AutoModelForCausalLM.from_pretrained(diff_dir, dtype=torch.float32).eval()
    assert not position0_changes(diff, vocab_size), "saved diffusion config should load causal by default"
    make_bidirectional(diff)
    assert position0_changes(diff, vocab_size), "config.is_causal=False did not give bidirectional attention"
    assert position0_changes(diff, vocab_size, is_causal=False)
    log("[check] reloaded both models; AR is causal, diffusion with config.is_causal=False is bidirectional")
    for prefix, suffix in HOLES:
        mid = greedy_fim(ar, tok, prefix, suffix)
        samples["ar_fim"].append({"prefix": prefix, "suffix": suffix, "middle": mid})
        log(f"[sample ar] {prefix!r} [{mid!r}] {suffix!r}")
        mid = diffusion_fill(diff, tok, prefix, suffix)
        samples["diffusion_canvas"].append({"prefix": prefix, "suffix": suffix, "middle": mid})
        log(f"[sample diffusion] {prefix!r} [{mid!r}] {suffix!r}")
    return samples
