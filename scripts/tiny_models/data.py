"""Training examples: line-boundary chunks, FIM splits, AR and packed batch streams."""

from __future__ import annotations

import random

import torch

from .common import EOS, FIM_MIDDLE, FIM_PREFIX, FIM_SUFFIX, SPECIAL_TOKENS
from .tokenizer import encode, encode_batch


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
