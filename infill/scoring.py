"""Perplexity scoring of a completion in its context (the ensemble's selection signal).

`ar_plain` (the published design): the AR model reads `prefix + completion + suffix` as plain text; the score is
the mean negative log-likelihood of the completion's tokens, perplexity = exp of it. Batched, and the vocabulary
projection is applied only at the positions that predict completion tokens, in chunks, so full-vocabulary
logits for the whole context are never materialised (151936 x 512 x 8 fp32 logits would be 2.5 GB).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

SCORER_VERSION = "ar-plain-v1"


@dataclass(frozen=True)
class Scored:
    mean_nll: float
    tokens: int

    @property
    def perplexity(self) -> float:
        return math.exp(self.mean_nll) if self.tokens else float("inf")


def _pieces(tokenizer, prefix: str, completion: str, suffix: str) -> tuple[list[int], int, int]:
    encode = lambda text: tokenizer.encode(text, add_special_tokens=False, split_special_tokens=True)
    head, middle, tail = encode(prefix), encode(completion), encode(suffix)
    return head + middle + tail, len(head), len(middle)


@torch.inference_mode()
def ar_plain_scores(model, tokenizer, triples: list[tuple[str, str, str]], batch_size: int = 8,
                    chunk_positions: int = 256) -> list[Scored]:
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    results: list[Scored] = []
    for first in range(0, len(triples), batch_size):
        pieces = [_pieces(tokenizer, *t) for t in triples[first:first + batch_size]]
        width = max(len(ids) for ids, _, _ in pieces)
        input_ids = torch.full((len(pieces), width), pad, dtype=torch.long)
        attention = torch.zeros_like(input_ids)
        for row, (ids, _, _) in enumerate(pieces):                   # right padding: positions start at 0
            input_ids[row, :len(ids)] = torch.tensor(ids)
            attention[row, :len(ids)] = 1
        hidden = model.model(input_ids=input_ids.to(device), attention_mask=attention.to(device)).last_hidden_state
        # Token t (start <= t < start + n) is predicted by the hidden state at t - 1 (the first completion token
        # by the last prefix token; with an empty prefix it has no prediction and is skipped).
        rows, positions, targets = [], [], []
        for row, (ids, start, n) in enumerate(pieces):
            for t in range(max(start, 1), start + n):
                rows.append(row), positions.append(t - 1), targets.append(ids[t])
        nll = torch.zeros(len(pieces), dtype=torch.float64)
        count = torch.zeros(len(pieces), dtype=torch.long)
        for lo in range(0, len(rows), chunk_positions):
            r = torch.tensor(rows[lo:lo + chunk_positions])
            p = torch.tensor(positions[lo:lo + chunk_positions])
            y = torch.tensor(targets[lo:lo + chunk_positions], device=device)
            logits = model.lm_head(hidden[r.to(device), p.to(device)]).float()
            losses = torch.nn.functional.cross_entropy(logits, y, reduction="none").double().cpu()
            nll.index_add_(0, r, losses)
            count.index_add_(0, r, torch.ones_like(r))
        results += [Scored(float(nll[i] / count[i]) if count[i] else 0.0, int(count[i])) for i in range(len(pieces))]
    return results
