"""The batched core every scorer shares: rows are token sequences with the (hidden position, target token) pairs to
score; rows of similar length are batched together (less padding), right-padded (positions start at 0, as when
alone), and the vocabulary projection is applied only at the scored positions, in chunks, so full-vocabulary logits
for the whole context are never materialised (151936 x 512 x 8 fp32 logits would be 2.5 GB)."""

from __future__ import annotations

import torch

from infill.generation.memory import run_halving_on_out_of_memory
from infill.scoring.scored import Scored

# A row to score: its token ids and the (hidden position, target token) pairs whose NLL counts.
Row = tuple[list[int], list[tuple[int, int]]]


def encode_text(tokenizer, text: str) -> list[int]:
    # split_special_tokens: code may contain a special token's string literally; it must stay text (as in prompts)
    return tokenizer.encode(text, add_special_tokens=False, split_special_tokens=True)


def pad_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def nll_rows(model, rows: list[Row], pad_id: int, batch_size: int, chunk_positions: int, bidirectional: bool = False,
              masks: tuple[int, list[int]] | None = None) -> tuple[list[float], list[int]]:
    """Summed NLL and count of scored pairs per row. Rows without pairs cost nothing. `masks` = (mask id, one
    position per row) puts the mask into each row as it is batched, so the rows of one canvas share its list."""
    device = next(model.parameters()).device
    nll = torch.zeros(len(rows), dtype=torch.float64)
    count = torch.zeros(len(rows), dtype=torch.long)
    # Sorting by length groups similar rows (and a diffusion candidate's rows, which all have one length).
    order = sorted((i for i, (_, pairs) in enumerate(rows) if pairs), key=lambda i: (len(rows[i][0]), i))
    # Without padding the bidirectional mask is skipped and SDPA would fall back to causal: say it every time.
    extra = {"is_causal": False} if bidirectional else {}

    def score_batch(batch) -> None:
        width = max(len(rows[i][0]) for i in batch)
        input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        attention = torch.zeros_like(input_ids)
        for local, i in enumerate(batch):                            # right padding: positions start at 0
            input_ids[local, :len(rows[i][0])] = torch.tensor(rows[i][0])
            attention[local, :len(rows[i][0])] = 1
            if masks is not None:
                input_ids[local, masks[1][i]] = masks[0]
        hidden = model.model(input_ids=input_ids.to(device), attention_mask=attention.to(device),
                             **extra).last_hidden_state
        local_rows, positions, targets, owners = [], [], [], []
        for local, i in enumerate(batch):
            for position, target in rows[i][1]:
                local_rows.append(local), positions.append(position), targets.append(target), owners.append(i)
        losses = []
        for lo in range(0, len(targets), chunk_positions):
            r = torch.tensor(local_rows[lo:lo + chunk_positions], device=device)
            p = torch.tensor(positions[lo:lo + chunk_positions], device=device)
            y = torch.tensor(targets[lo:lo + chunk_positions], device=device)
            logits = model.lm_head(hidden[r, p])
            logits = logits.double() if logits.dtype == torch.float64 else logits.float()   # at least fp32
            losses.append(torch.nn.functional.cross_entropy(logits, y, reduction="none").double().cpu())
        owner = torch.tensor(owners)                # added only once the whole batch fitted (see below)
        nll.index_add_(0, owner, torch.cat(losses))
        count.index_add_(0, owner, torch.ones_like(owner))

    # out of memory: halve and rerun the batch (a row's score does not depend on its batch)
    run_halving_on_out_of_memory(order, batch_size, score_batch)
    return nll.tolist(), count.tolist()


def scored_rows(nll: list[float], count: list[int]) -> list[Scored]:
    return [Scored(total / n if n else 0.0, n) for total, n in zip(nll, count)]


def next_token_pairs(ids: list[int], start: int, stop: int) -> list[tuple[int, int]]:
    # Causal head: token t is predicted by the hidden state at t - 1; position 0 has no prediction and is skipped.
    return [(t - 1, ids[t]) for t in range(max(start, 1), stop)]
