#!/usr/bin/env python
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

import os

# Keep the second core free: tokenizers (rayon) and torch both honour these.
os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import hashlib
import json
import math
import platform
import random
import shutil
import sys
import sysconfig
import tempfile
import time
import unicodedata
from pathlib import Path

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:  # already set by an importer
    pass

import tokenizers
import transformers
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen2ForCausalLM,
)

transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

REPO = Path(__file__).resolve().parents[1]
SCRIPT_REL = "scripts/train_tiny_models.py"
DEFAULT_OUT = "infill/models/tiny"
AR_DIR = "tiny-qwen2-fim"
DIFF_DIR = "tiny-qwen2-diffusion"

# Qwen2.5 special-token strings (plus Open-dLLM's mask token).
EOS = "<|endoftext|>"
FIM_PREFIX = "<|fim_prefix|>"
FIM_MIDDLE = "<|fim_middle|>"
FIM_SUFFIX = "<|fim_suffix|>"
FIM_PAD = "<|fim_pad|>"
REPO_NAME = "<|repo_name|>"
FILE_SEP = "<|file_sep|>"
MASK = "<M>"
SPECIAL_TOKENS = [EOS, FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX, FIM_PAD, REPO_NAME, FILE_SEP, MASK]

# The pre-tokenizer split used by Qwen2 / Qwen2.5 tokenizers.
QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Directories of the stdlib that are not used (tests, GUI, vendored/third
# party, codec tables that are mostly hex data, build configuration).
EXCLUDED_DIRS = {
    "test",
    "tests",
    "idle_test",
    "idlelib",
    "lib2to3",
    "site-packages",
    "dist-packages",
    "__pycache__",
    "turtledemo",
    "ensurepip",
    "encodings",
    "pydoc_data",
    "__phello__",
}

VOCAB_SIZE = 8192
MODEL_MAX_LENGTH = 2048


def log(msg: str) -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


def stdlib_files() -> tuple[Path, list[str]]:
    """Sorted relative paths of the stdlib ``.py`` files used for training."""
    root = Path(sysconfig.get_paths()["stdlib"])
    rels: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if d not in EXCLUDED_DIRS and not d.startswith("config-")
        )
        for name in sorted(filenames):
            if name.endswith(".py"):
                rels.append(Path(dirpath, name).relative_to(root).as_posix())
    rels.sort()
    return root, rels


def load_corpus(root: Path, rels: list[str]) -> list[tuple[str, str]]:
    docs = []
    for rel in rels:
        raw = (root / rel).read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        text = text.replace("\r\n", "\n")
        if text.strip():
            docs.append((rel, text))
    return docs


def sha256_lines(items: list[str]) -> str:
    return hashlib.sha256("\n".join(items).encode("utf-8")).hexdigest()


def content_sha256(docs: list[tuple[str, str]]) -> str:
    h = hashlib.sha256()
    for rel, text in docs:
        h.update(rel.encode())
        h.update(b"\0")
        h.update(hashlib.sha256(text.encode("utf-8")).digest())
    return h.hexdigest()


def split_train_eval(docs: list[tuple[str, str]], every: int = 25):
    train = [d for i, d in enumerate(docs) if i % every != every // 2]
    held = [d for i, d in enumerate(docs) if i % every == every // 2]
    return train, held


# --------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------


def train_tokenizer(texts: list[str], vocab_size: int = VOCAB_SIZE) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    # NFC like the real Qwen2 tokenizer (transformers 5 rebuilds model_type=qwen2
    # tokenizers as Qwen2Tokenizer, which always uses NFC + this split regex).
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    if tok.get_vocab_size() != vocab_size:
        raise RuntimeError(f"tokenizer vocab is {tok.get_vocab_size()}, wanted {vocab_size}")
    for i, s in enumerate(SPECIAL_TOKENS):
        assert tok.token_to_id(s) == i, (s, tok.token_to_id(s))
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=EOS,
        pad_token=EOS,
        mask_token=MASK,
        bos_token=None,
        unk_token=None,
        additional_special_tokens=[FIM_PREFIX, FIM_MIDDLE, FIM_SUFFIX, FIM_PAD, REPO_NAME, FILE_SEP],
        model_max_length=MODEL_MAX_LENGTH,
        clean_up_tokenization_spaces=False,
        padding_side="right",
    )
    return fast


def reload_tokenizer(fast, config):
    """Save and reload through AutoTokenizer, exactly as users of the model
    directories will load it (with transformers 5 and model_type qwen2 that is
    a ``Qwen2Tokenizer`` built from our tokenizer.json)."""
    with tempfile.TemporaryDirectory() as d:
        fast.save_pretrained(d)
        config.save_pretrained(d)
        tok = AutoTokenizer.from_pretrained(d)
    return tok


def encode(tok, text: str) -> list[int]:
    """Token ids of plain text. Literal special-token strings in the text (the
    stdlib has ``(?P<M>...)``) are encoded as ordinary text, never as specials."""
    return tok.encode(text, add_special_tokens=False, split_special_tokens=True) if text else []


def encode_batch(tok, texts: list[str]) -> list[list[int]]:
    return tok(texts, add_special_tokens=False, split_special_tokens=True)["input_ids"]


def check_roundtrip(tok, texts: list[str]) -> int:
    """decode(encode(x)) must give x back (NFC-normalised: the Qwen2 tokenizer
    applies NFC, as the real one does). Returns how many texts were not in NFC."""
    bad, non_nfc = [], 0
    extra = "def f(x):\n\tif x:  # caf\u00e9 \u2603\r\n        return '<tag>' + \"\\n\"  \n\n\n# <M> <|fim_prefix|>\n"
    texts = list(texts) + [extra]
    for i in range(0, len(texts), 64):
        batch = texts[i : i + 64]
        for split in (True, False):
            enc = tok(batch, add_special_tokens=False, split_special_tokens=split)["input_ids"]
            for text, ids in zip(batch, enc):
                want = unicodedata.normalize("NFC", text)
                if tok.decode(ids, clean_up_tokenization_spaces=False) != want:
                    bad.append(text[:60])
        non_nfc += sum(unicodedata.normalize("NFC", t) != t for t in batch)
    if bad:
        raise AssertionError(f"tokenizer round trip failed on {len(bad)} texts, e.g. {bad[:3]}")
    return non_nfc


# --------------------------------------------------------------------------
# Chunking and examples
# --------------------------------------------------------------------------


def make_chunks(tok, texts: list[str], max_tokens: int) -> list[str]:
    """Cut documents at line boundaries into chunks of at most ``max_tokens`` tokens."""
    chunks: list[str] = []
    for text in texts:
        lines = text.splitlines(keepends=True)
        counts = [len(x) for x in encode_batch(tok, lines)]
        cur: list[str] = []
        cur_n = 0
        for line, n in zip(lines, counts):
            if n > max_tokens:  # pathological long line: drop it
                continue
            if cur and cur_n + n > max_tokens:
                chunks.append("".join(cur))
                cur, cur_n = [], 0
            cur.append(line)
            cur_n += n
        if cur:
            chunks.append("".join(cur))
    # Per-line counts are (almost) additive; verify and split anything that is not.
    out: list[str] = []
    stack = list(reversed(chunks))
    while stack:
        c = stack.pop()
        if not c.strip():
            continue
        if len(encode(tok, c)) <= max_tokens:
            out.append(c)
            continue
        lines = c.splitlines(keepends=True)
        if len(lines) < 2:
            continue
        h = len(lines) // 2
        stack.append("".join(lines[h:]))
        stack.append("".join(lines[:h]))
    return out


def fim_split(rng: random.Random, doc: str) -> tuple[str, str, str, str]:
    """Split ``doc`` into (prefix, middle, suffix, mode)."""
    lines = doc.splitlines(keepends=True)
    r = rng.random()
    if r < 0.5 and len(lines) >= 2:
        # a single whole line (with its newline), preferring non-blank lines
        cands = [i for i, l in enumerate(lines) if l.strip()] or list(range(len(lines)))
        i = rng.choice(cands)
        return "".join(lines[:i]), lines[i], "".join(lines[i + 1 :]), "line"
    if r < 0.7 and len(lines) >= 3:
        n = rng.randint(2, min(8, len(lines) - 1))
        i = rng.randint(0, len(lines) - n)
        return "".join(lines[:i]), "".join(lines[i : i + n]), "".join(lines[i + n :]), "lines"
    a, b = sorted(rng.randint(0, len(doc)) for _ in range(2))
    return doc[:a], doc[a:b], doc[b:], "chars"


class ARData:
    """Seeded stream of AR training batches (50% FIM in PSM format, 50% plain)."""

    def __init__(self, tok, chunks, seq_len, batch_size, seed, fim_rate=0.5):
        self.tok = tok
        self.chunks = chunks
        self.seq_len = seq_len
        self.batch_size = batch_size
        self.fim_rate = fim_rate
        self.rng = random.Random(seed)
        self.order: list[int] = []
        self.ids = {s: tok.convert_tokens_to_ids(s) for s in SPECIAL_TOKENS}

    def encode_example(self, rng: random.Random, doc: str, fim: bool, mode=None):
        enc = lambda s: encode(self.tok, s)
        sid = self.ids
        if fim:
            if mode is None:
                p, m, s, _ = fim_split(rng, doc)
            else:  # forced single-line split (evaluation)
                lines = doc.splitlines(keepends=True)
                cands = [i for i, l in enumerate(lines) if l.strip()]
                i = rng.choice(cands)
                p, m, s = "".join(lines[:i]), lines[i], "".join(lines[i + 1 :])
            pre = [sid[FIM_PREFIX]] + enc(p) + [sid[FIM_SUFFIX]] + enc(s) + [sid[FIM_MIDDLE]]
            ids = pre + enc(m) + [sid[EOS]]
            mid_start = len(pre)
        else:
            ids = enc(doc) + [sid[EOS]]
            mid_start = None
        return ids[: self.seq_len], mid_start

    def collate(self, examples):
        L = self.seq_len
        x = torch.full((len(examples), L), self.ids[EOS], dtype=torch.long)
        valid = torch.zeros((len(examples), L), dtype=torch.bool)
        mid = torch.zeros((len(examples), L), dtype=torch.bool)
        for b, (ids, mid_start) in enumerate(examples):
            x[b, : len(ids)] = torch.tensor(ids)
            valid[b, : len(ids)] = True
            if mid_start is not None:
                mid[b, mid_start : len(ids)] = True
        return x, valid, mid

    def next_batch(self):
        exs = []
        for _ in range(self.batch_size):
            if not self.order:
                self.order = list(range(len(self.chunks)))
                self.rng.shuffle(self.order)
            doc = self.chunks[self.order.pop()]
            exs.append(self.encode_example(self.rng, doc, self.rng.random() < self.fim_rate))
        return self.collate(exs)


class PackedData:
    """Seeded stream of fixed-length windows cut from the concatenated token stream."""

    def __init__(self, tok, texts, seq_len, batch_size, seed):
        eos = tok.convert_tokens_to_ids(EOS)
        stream: list[int] = []
        for ids in encode_batch(tok, texts):
            stream.extend(ids)
            stream.append(eos)
        n = len(stream) // seq_len
        self.windows = torch.tensor(stream[: n * seq_len], dtype=torch.long).view(n, seq_len)
        self.batch_size = batch_size
        self.rng = random.Random(seed)
        self.order: list[int] = []

    def next_batch(self):
        idx = []
        for _ in range(self.batch_size):
            if not self.order:
                self.order = list(range(len(self.windows)))
                self.rng.shuffle(self.order)
            idx.append(self.order.pop())
        return self.windows[idx]


# --------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------


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


def lr_at(step: int, total: int, peak: float, warmup: int, min_ratio: float = 0.1) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return peak * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))


def make_optimizer(model, lr, wd):
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (decay if p.dim() >= 2 else no_decay).append(p)
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr,
        betas=(0.9, 0.95),
        eps=1e-8,
    )


# --------------------------------------------------------------------------
# Attention checks
# --------------------------------------------------------------------------


@torch.no_grad()
def position0_changes(model, vocab_size: int, **forward_kwargs) -> bool:
    """True if the logits at position 0 change when only the last input token changes."""
    a = torch.tensor([[11, 200, 300, 400, 500, 600, 700, 800]]) % vocab_size
    b = a.clone()
    b[0, -1] = 1234 % vocab_size
    la = model(input_ids=a, **forward_kwargs).logits[0, 0].float()
    lb = model(input_ids=b, **forward_kwargs).logits[0, 0].float()
    return not torch.allclose(la, lb, atol=0, rtol=0)


def make_bidirectional(model) -> None:
    """The mechanism used both for training and by callers: stock transformers
    (5.x) builds a bidirectional mask when ``config.is_causal`` is False; we
    also pass ``is_causal=False`` to every forward call."""
    model.config.is_causal = False


# --------------------------------------------------------------------------
# Training loops
# --------------------------------------------------------------------------


def make_config(args) -> Qwen2Config:
    eos_id = SPECIAL_TOKENS.index(EOS)
    return Qwen2Config(
        vocab_size=VOCAB_SIZE,
        hidden_size=args.hidden,
        intermediate_size=args.intermediate,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.kv_heads,
        max_position_embeddings=MODEL_MAX_LENGTH,
        rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0},
        tie_word_embeddings=True,
        use_sliding_window=False,
        rms_norm_eps=1e-6,
        initializer_range=0.02,
        attention_dropout=0.0,
        bos_token_id=None,
        eos_token_id=eos_id,
        pad_token_id=eos_id,
    )


def new_model(args, tok) -> Qwen2ForCausalLM:
    cfg = make_config(args)
    assert cfg.vocab_size == len(tok) and cfg.eos_token_id == tok.eos_token_id
    torch.manual_seed(args.seed)
    model = Qwen2ForCausalLM(cfg)
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    return model


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


def check_diffusion_loss(model, x, mask_id, eps) -> None:
    """The chunked masked-diffusion loss equals the plain version (shift_logits)."""
    fast, _ = diffusion_loss(model, x, mask_id, eps, torch.Generator().manual_seed(7), autocast=False)
    t, masked, inp = sample_masks(x, mask_id, eps, torch.Generator().manual_seed(7))
    ref = diffusion_loss_reference(model, x, t, masked, inp)
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


# --------------------------------------------------------------------------
# Saving and checks
# --------------------------------------------------------------------------


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


README = """# Tiny smoke models

These two models exist so that every code path of infill-bench (tokenizer
loading, FIM prompting, masked-diffusion canvas decoding, bidirectional
attention, scoring) can run on a CPU-only machine without downloading the real
Open-dCoder / Qwen2.5-Coder weights. They are **smoke models**: a few million
parameters trained for minutes; their benchmark scores are expected to be
near zero. Never draw conclusions about the real models from them.

| directory | what | family / prompt format |
| --- | --- | --- |
| `{ar}/` | autoregressive FIM model, causal `Qwen2ForCausalLM` | `ar-fim` / `qwen-fim` (`<|fim_prefix|>P<|fim_suffix|>S<|fim_middle|>` → middle, `<|endoftext|>`) |
| `{diff}/` | masked-diffusion model, started from the AR weights then trained with the masked-diffusion objective | `diffusion` / `diffusion-canvas` (mask token `<M>`) |

Both are plain HF directories (`AutoTokenizer.from_pretrained(d)`,
`AutoModelForCausalLM.from_pretrained(d)`). Weights are stored as **bfloat16**
safetensors (pass `dtype=torch.float32` to compute in fp32). The diffusion
model is saved with a normal causal config, like the real Open-dCoder: the
caller makes attention bidirectional by setting `model.config.is_causal = False`
after loading (and passing `is_causal=False` to `forward`), and must use the
shifted head: `logits = torch.cat([logits[:, :1], logits[:, :-1]], dim=1)` so
that row j predicts token j.

## Architecture

Qwen2: hidden {hidden}, {layers} layers, {heads} heads / {kv_heads} KV heads,
intermediate {intermediate}, tied embeddings, RoPE theta 1e6, max positions 2048,
vocab {vocab} ({n_params:.2f}M parameters).

## Tokenizer

Byte-level BPE (HF `tokenizers`), vocab {vocab} including the special tokens
`<|endoftext|>` (eos and pad), `<|fim_prefix|>`, `<|fim_middle|>`,
`<|fim_suffix|>`, `<|fim_pad|>`, `<|repo_name|>`, `<|file_sep|>` and `<M>` (the
mask token, `tokenizer.mask_token_id`). NFC normaliser + Qwen2 pre-tokenizer
regex + ByteLevel, exactly the pipeline of the real Qwen2.5 tokenizer (with
transformers 5, `AutoTokenizer` loads any `model_type: qwen2` directory as
`Qwen2Tokenizer`, which always uses that pipeline). `decode(encode(x)) == x`
for any NFC text (checked on every training file; the one stdlib file not in
NFC comes back NFC-normalised). Note that `<M>` is a literal string in some
Python code (`(?P<M>...)` in a regex): training data was encoded with
`split_special_tokens=True`, so such text never became mask tokens; callers
should do the same for prefix/suffix text.

## Training

Data: the `.py` files of the Python {pyver} standard library (sorted list,
without tests, idlelib, lib2to3, encodings tables, ...; {n_files} files,
file-list sha256 in `infill_model.json`); every 25th file held out for
evaluation.

* AR: {ar_steps} AdamW steps, batch {batch} x {seq_len} tokens, 50% FIM (PSM;
  half of the FIM examples have a single whole line as middle) and 50% plain
  left-to-right. Final training loss {ar_loss} nats/token.
* Diffusion: {diff_steps} more steps from the AR weights: t ~ U({eps}, 1),
  tokens masked with probability t, bidirectional attention, shifted head,
  cross-entropy on masked tokens weighted by 1/t and normalised by sequence
  length. Final training loss {diff_loss}.

Wall time {wall_min:.1f} min on one CPU thread ({precision} training), torch
{torch_v}, transformers {tf_v}, tokenizers {tok_v}. Retrain with

    {command}

The result is bit-for-bit reproducible for a given Python version (the
stdlib is the data), library versions and CPU type (float kernels may differ
between CPU instruction sets). The loss is computed exactly as written above but
in row chunks with the head applied only to the rows that carry a loss (a
start-up check compares it with the plain full-logits computation).

Sizes: {sizes}.

`samples.json` holds the completions of a few simple holes by both models
(greedy FIM for the AR model, a 12-token canvas unmasked by confidence for the
diffusion model), written at the end of training.

## Licence

The training data is the CPython standard library, distributed under the
Python Software Foundation License (PSF-2.0); these weights are derived from it.
"""


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


if __name__ == "__main__":
    sys.exit(main())
