"""Train the tiny smoke models shipped in ``infill/models/tiny``.

Everything here is deterministic: the training data is the Python standard
library of the interpreter running this script (a sorted, filtered file list
whose sha256 is recorded), seeds are fixed, the data order comes from seeded
RNGs and training runs a fixed number of optimizer steps.

Outputs (under ``--out``, default ``infill/models/tiny``):

* ``tiny-qwen2-fim/``       autoregressive FIM model (Qwen2.5-Coder PSM format)
* ``tiny-qwen2-diffusion/`` masked-diffusion model, initialised from the AR
  weights and trained Open-dCoder style (bidirectional attention, shifted
  head, loss on masked tokens weighted by 1/t)
* ``README.md``

Both model directories hold a plain ``Qwen2ForCausalLM`` (bf16 safetensors),
the same byte-level BPE tokenizer and an ``infill_model.json`` describing how
the model is meant to be prompted and how it was trained.

Usage::

    python scripts/train_tiny_models.py                 # full run (~20 min, 1 CPU thread)
    python scripts/train_tiny_models.py --quick --out /tmp/tiny   # smoke run
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from pathlib import Path

import tokenizers
import torch
import transformers
from transformers import AutoModelForCausalLM

from .common import (
    AR_DIR,
    DEFAULT_OUT,
    DIFF_DIR,
    EOS,
    FILE_SEP,
    FIM_MIDDLE,
    FIM_PAD,
    FIM_PREFIX,
    FIM_SUFFIX,
    MASK,
    REPO,
    REPO_NAME,
    SCRIPT_REL,
    log,
)
from .corpus import EXCLUDED_DIRS, content_sha256, load_corpus, sha256_lines, split_train_eval, stdlib_files
from .data import make_chunks
from .export import dir_size, final_checks, save_model
from .model import make_config
from .readme import README
from .tokenizer import check_roundtrip, reload_tokenizer, train_tokenizer
from .train_ar import train_ar
from .train_diffusion import train_diffusion


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    ap.add_argument("--steps-ar", type=int, default=None, help="AR optimizer steps (default 700)")
    ap.add_argument("--steps-diffusion", type=int, default=None, help="diffusion optimizer steps (default 500)")
    ap.add_argument("--quick", action="store_true", help="a few steps on a subset of the data (for tests)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--seq-len", type=int, default=384)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--intermediate", type=int, default=384)
    ap.add_argument("--lr-ar", type=float, default=3e-3)
    ap.add_argument("--lr-diffusion", type=float, default=1e-3)
    ap.add_argument("--eps", type=float, default=1e-3)
    ap.add_argument(
        "--bf16-autocast",
        dest="autocast",
        action="store_true",
        help="bf16 autocast for the transformer body (off by default: slower than fp32 on CPUs without AMX)",
    )
    ap.add_argument("--log-every", type=int, default=None)
    args = ap.parse_args(argv)

    if args.quick:
        args.steps_ar = 4 if args.steps_ar is None else args.steps_ar
        args.steps_diffusion = 4 if args.steps_diffusion is None else args.steps_diffusion
        args.batch_size = min(args.batch_size, 4)
        args.seq_len = min(args.seq_len, 128)
    args.steps_ar = 700 if args.steps_ar is None else args.steps_ar
    args.steps_diffusion = 500 if args.steps_diffusion is None else args.steps_diffusion
    args.warmup_ar = max(1, min(50, args.steps_ar // 10))
    args.warmup_diffusion = max(1, min(30, args.steps_diffusion // 10))
    args.log_every = args.log_every or (1 if args.quick else 25)
    args.eval_n = 8 if args.quick else 48
    # The default output is inside the repository wherever the script is run from;
    # an explicit relative --out is relative to the current directory.
    out = REPO / DEFAULT_OUT if args.out == DEFAULT_OUT else Path(args.out).resolve()
    extra = sys.argv[1:] if argv is None else list(argv)
    command = " ".join(["python", SCRIPT_REL, *extra])

    t_start = time.time()
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    log(
        f"torch {torch.__version__}, transformers {transformers.__version__}, tokenizers {tokenizers.__version__}, "
        f"python {platform.python_version()}, threads {torch.get_num_threads()}"
    )

    root, rels = stdlib_files()
    docs = load_corpus(root, rels)
    if args.quick:
        docs = docs[::8]
    used = [rel for rel, _ in docs]
    list_sha = sha256_lines(used)
    data_meta = {
        "source": "Python standard library (.py files)",
        "python_version": platform.python_version(),
        "stdlib_root": str(root),
        "excluded_dirs": sorted(EXCLUDED_DIRS) + ["config-*"],
        "n_files": len(used),
        "n_chars": sum(len(t) for _, t in docs),
        "file_list_sha256": list_sha,
        "content_sha256": content_sha256(docs),
        "heldout": "every 25th file (index % 25 == 12) is held out for evaluation",
        "licence": "PSF-2.0 (Python Software Foundation License)",
    }
    train_docs, held_docs = split_train_eval(docs)
    train_texts = [t for _, t in train_docs]
    held_texts = [t for _, t in held_docs]
    log(f"[data] {len(docs)} stdlib files ({data_meta['n_chars']/1e6:.1f}M chars) from {root}; file-list sha256 {list_sha[:16]}")

    t0 = time.time()
    raw_tok = train_tokenizer(train_texts)
    tok = reload_tokenizer(raw_tok, make_config(args))
    non_nfc = check_roundtrip(tok, [t for _, t in docs])
    log(
        f"[tokenizer] trained vocab {len(tok)} in {time.time()-t0:.0f}s; loads as {type(tok).__name__}; "
        f"decode(encode(x)) == NFC(x) on all {len(docs)} files ({non_nfc} not in NFC)"
    )

    t0 = time.time()
    max_tok = args.seq_len - 8
    train_chunks = make_chunks(tok, train_texts, max_tok)
    held_chunks = make_chunks(tok, held_texts, max_tok)
    log(f"[data] {len(train_chunks)} train chunks / {len(held_chunks)} held-out chunks of <= {max_tok} tokens ({time.time()-t0:.0f}s)")

    ar_model, ar_stats = train_ar(args, tok, train_chunks, held_chunks)
    meta_common = {
        "architecture": "Qwen2ForCausalLM",
        "weights_dtype": "bfloat16",
        "tokenizer": "byte-level BPE, NFC + Qwen2 pre-tokenizer regex, vocab %d" % len(tok),
        "special_tokens": {
            "eos": EOS,
            "pad": EOS,
            "fim_prefix": FIM_PREFIX,
            "fim_middle": FIM_MIDDLE,
            "fim_suffix": FIM_SUFFIX,
            "fim_pad": FIM_PAD,
            "repo_name": REPO_NAME,
            "file_sep": FILE_SEP,
            "mask": MASK,
        },
        "smoke_model": True,
        "train_script": SCRIPT_REL,
        "command": command,
        "stdlib_file_list_sha256": list_sha,
        "data": data_meta,
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "python": platform.python_version(),
        },
    }
    ar_meta = {
        "name": AR_DIR,
        "family": "ar-fim",
        "prompt_format": "qwen-fim",
        "attention": "causal",
        "fim_template": f"{FIM_PREFIX}{{prefix}}{FIM_SUFFIX}{{suffix}}{FIM_MIDDLE}{{middle}}{EOS}",
        **meta_common,
        "training": ar_stats,
    }
    save_model(ar_model, tok, out / AR_DIR, ar_meta)
    log(f"[save] {out / AR_DIR}")

    # Continue from the AR weights (fp32 master copy, reloaded from the saved bf16 so
    # the diffusion model starts exactly from the shipped AR checkpoint).
    start = AutoModelForCausalLM.from_pretrained(out / AR_DIR, dtype=torch.float32)
    diff_model, diff_stats = train_diffusion(args, tok, start, train_texts, held_texts)
    diff_meta = {
        "name": DIFF_DIR,
        "family": "diffusion",
        "prompt_format": "diffusion-canvas",
        "attention": "bidirectional: set model.config.is_causal = False after loading and pass is_causal=False to forward",
        "logits_shift": "shifted head: logits = cat([logits[:, :1], logits[:, :-1]], dim=1); row j predicts token j",
        "mask_token": MASK,
        "mask_token_id": tok.mask_token_id,
        "init_from": AR_DIR,
        **meta_common,
        "training": diff_stats,
    }
    save_model(diff_model, tok, out / DIFF_DIR, diff_meta)
    log(f"[save] {out / DIFF_DIR}")

    samples = final_checks(out, len(tok))
    wall = time.time() - t_start
    for name, meta in ((AR_DIR, ar_meta), (DIFF_DIR, diff_meta)):
        meta["total_wall_time_s"] = round(wall, 1)
        (out / name / "infill_model.json").write_text(json.dumps(meta, indent=2) + "\n")
    sizes = {name: dir_size(out / name) for name in (AR_DIR, DIFF_DIR)}
    n_params = ar_stats["n_params"]
    readme = README.format(
        ar=AR_DIR,
        diff=DIFF_DIR,
        hidden=args.hidden,
        layers=args.layers,
        heads=args.heads,
        kv_heads=args.kv_heads,
        intermediate=args.intermediate,
        vocab=len(tok),
        n_params=n_params / 1e6,
        pyver=platform.python_version(),
        n_files=len(used),
        ar_steps=args.steps_ar,
        diff_steps=args.steps_diffusion,
        batch=args.batch_size,
        seq_len=args.seq_len,
        eps=args.eps,
        ar_loss=ar_stats["final_loss"],
        diff_loss=diff_stats["final_loss"],
        wall_min=wall / 60,
        precision="bf16 autocast" if args.autocast else "fp32",
        torch_v=torch.__version__,
        tf_v=transformers.__version__,
        tok_v=tokenizers.__version__,
        command=command,
        sizes=", ".join(f"`{k}/` {v/1e6:.1f} MB" for k, v in sizes.items()),
    )
    (out / "README.md").write_text(readme)
    (out / "samples.json").write_text(json.dumps(samples, indent=2) + "\n")
    total = dir_size(out)
    log(
        f"[done] AR final loss {ar_stats['final_loss']}, diffusion final loss {diff_stats['final_loss']}; "
        f"total size {total/1e6:.2f} MB; wall time {wall/60:.1f} min"
    )
    return 0
