"""Perplexity scoring of a completion in its context (the ensemble's selection signal).

Scorers (each named and versioned in `SCORERS`; the version goes into the score cache key):
- `ar_plain` (the published design): the AR model reads `prefix + completion + suffix` as plain text; the score is
  the mean negative log-likelihood of the completion's tokens. The suffix cannot influence it (causal attention).
- `ar_fim`: the AR model reads its FIM prompt (prefix and suffix, ending with the middle sentinel) followed by the
  completion and the tokenizer's eos; the score is the mean NLL of the completion's tokens and that eos. So the
  suffix counts, and a completion that stops too early or runs on past its hole is penalised at the eos.
- `diffusion`: the masked-diffusion model's pseudo-log-likelihood (PLL), see `diffusion_scores`.

All three share one batched core (`_nll_rows`): rows are token sequences with the (hidden position, target token)
pairs to score; rows of similar length are batched together (less padding), right-padded (positions start at 0,
as when alone), and the vocabulary projection is applied only at the scored positions, in chunks, so
full-vocabulary logits for the whole context are never materialised (151936 x 512 x 8 fp32 logits would be 2.5 GB).
Perplexity = exp(mean NLL); a completion with no scored token has perplexity inf (never preferred).

`combine` (several scorers -> one perplexity) and `zscores` (calibration over a run) are the ensemble's pure
helpers; their rules are versioned too (`COMBINE_VERSION`, `CALIBRATION_VERSION`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from infill.generation.memory import run_halving_on_out_of_memory
from infill.prompts import DIFFUSION_CANVAS

AR_PLAIN_VERSION = "ar-plain-v1"
AR_FIM_VERSION = "ar-fim-v1"
DIFFUSION_VERSION = "diffusion-pll-v1"
SCORER_VERSION = AR_PLAIN_VERSION          # the published design's scorer (kept for existing callers)
COMBINE_VERSION = "combine-v1"             # min / mean / harmonic with the inf rules in `combine`
CALIBRATION_VERSION = "zscore-v1"          # z-score of mean NLL, population std, inf excluded (see `zscores`)
COMBINE_RULES = ("min", "mean", "harmonic")


@dataclass(frozen=True)
class Scored:
    mean_nll: float
    tokens: int

    @property
    def perplexity(self) -> float:
        return math.exp(self.mean_nll) if self.tokens else float("inf")


# A row to score: its token ids and the (hidden position, target token) pairs whose NLL counts.
Row = tuple[list[int], list[tuple[int, int]]]


def _encode(tokenizer, text: str) -> list[int]:
    # split_special_tokens: code may contain a special token's string literally; it must stay text (as in prompts)
    return tokenizer.encode(text, add_special_tokens=False, split_special_tokens=True)


def _pad_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def _nll_rows(model, rows: list[Row], pad_id: int, batch_size: int, chunk_positions: int, bidirectional: bool = False,
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


def _scored(nll: list[float], count: list[int]) -> list[Scored]:
    return [Scored(total / n if n else 0.0, n) for total, n in zip(nll, count)]


def _next_token_pairs(ids: list[int], start: int, stop: int) -> list[tuple[int, int]]:
    # Causal head: token t is predicted by the hidden state at t - 1; position 0 has no prediction and is skipped.
    return [(t - 1, ids[t]) for t in range(max(start, 1), stop)]


@torch.inference_mode()
def ar_plain_scores(model, tokenizer, triples: list[tuple[str, str, str]], batch_size: int = 8,
                    chunk_positions: int = 256) -> list[Scored]:
    """Mean NLL of the completion's tokens in `prefix + completion + suffix` read as plain text (pieces tokenized
    separately). With an empty prefix the first completion token has no prediction and is not counted; an empty
    completion has 0 tokens (perplexity inf)."""
    rows = []
    for prefix, completion, suffix in triples:
        head, middle = _encode(tokenizer, prefix), _encode(tokenizer, completion)
        ids = head + middle + _encode(tokenizer, suffix)
        rows.append((ids, _next_token_pairs(ids, len(head), len(head) + len(middle))))
    return _scored(*_nll_rows(model, rows, _pad_id(tokenizer), batch_size, chunk_positions))


@torch.inference_mode()
def ar_fim_scores(model, tokenizer, prompt_format, triples: list[tuple[str, str, str]], batch_size: int = 8,
                  chunk_positions: int = 256) -> list[Scored]:
    """Mean NLL of the completion's tokens followed by the end token, after the FIM prompt
    `prompt_format.encode(tokenizer, prefix, suffix)` (which ends with the middle sentinel).

    The end token is the tokenizer's `eos_token_id`: the FIM models end a middle with it in training (Qwen2.5-Coder
    and StarCoder2: <|endoftext|>), and it is always in `prompt_format.stop_ids`. The format's other stop tokens
    (fim_pad, file_sep, ...) are not summed in: their probability counts as "the hole is not finished here".
    An empty completion scores the end token alone (1 token): "nothing goes here" is a meaningful claim."""
    end = tokenizer.eos_token_id
    if end is None:
        raise ValueError("ar_fim_scores: the tokenizer has no eos token to end the completion with")
    rows = []
    for prefix, completion, suffix in triples:
        prompt = prompt_format.encode(tokenizer, prefix, suffix)
        ids = prompt + _encode(tokenizer, completion) + [end]
        rows.append((ids, _next_token_pairs(ids, len(prompt), len(ids))))
    return _scored(*_nll_rows(model, rows, _pad_id(tokenizer), batch_size, chunk_positions))


@torch.inference_mode()
def diffusion_scores(model, tokenizer, triples: list[tuple[str, str, str]], batch_size: int = 16,
                     chunk_positions: int = 256, window: tuple[int, int] | None = None) -> list[Scored]:
    """Masked-token pseudo-log-likelihood of the completion given prefix and suffix, under a masked-diffusion model.

    Canvas = prefix ids + completion ids + suffix ids, built by `DiffusionCanvas.encode` (the infiller's own
    rules: pieces tokenized separately, no FIM tokens, `window` = (prefix, suffix) tokens kept nearest the hole,
    left-truncated to 2048 tokens) with the masked slice filled by the completion. For each completion position i,
    a copy of the canvas with only position i masked is run bidirectionally and the shifted head (hidden state at
    i - 1 predicts token i, as Open-dCoder was trained) gives -log p(token i). Score = mean over the positions.
    Positions that have no predecessor (canvas position 0) or were truncated away are not counted; an empty
    completion has 0 tokens (perplexity inf).

    Cost: ONE MODEL ROW PER COMPLETION TOKEN (a 64-token completion costs 64 full-canvas rows, vs one row for the
    AR scorers). The copies of all candidates are batched together, `batch_size` rows per forward."""
    if tokenizer.mask_token_id is None:
        raise ValueError("diffusion_scores: the tokenizer has no mask token; the masked-token pseudo-log-likelihood "
                         "needs a masked-diffusion model's tokenizer (Open-dCoder's mask is <M>)")
    from infill.generation.diffusion import make_bidirectional
    make_bidirectional(model)
    mask_id = tokenizer.mask_token_id
    rows, owners, positions = [], [], []
    for index, (prefix, completion, suffix) in enumerate(triples):
        middle = _encode(tokenizer, completion)
        ids, start = DIFFUSION_CANVAS.encode(tokenizer, prefix, suffix, len(middle), window)
        for p in range(max(start, 0), start + len(middle)):
            ids[p] = middle[p - start]
        for p in range(max(start, 1), start + len(middle)):
            rows.append((ids, [(p - 1, ids[p])]))              # masked at p when batched (no copy per row)
            owners.append(index), positions.append(p)
    nll, count = _nll_rows(model, rows, _pad_id(tokenizer), batch_size, chunk_positions, bidirectional=True,
                           masks=(mask_id, positions))
    totals, counts = [0.0] * len(triples), [0] * len(triples)
    for owner, total, n in zip(owners, nll, count):
        totals[owner] += total
        counts[owner] += n
    return _scored(totals, counts)


@dataclass(frozen=True)
class ScorerSpec:
    name: str
    version: str
    family: str                  # the model family it needs: "ar-fim" or "diffusion" (infill.models.registry)
    function: Callable
    description: str = ""


SCORERS: dict[str, ScorerSpec] = {s.name: s for s in (
    ScorerSpec("ar_plain", AR_PLAIN_VERSION, "ar-fim", ar_plain_scores,
               "AR model, prefix + completion + suffix as plain text; completion tokens only (suffix ignored)"),
    ScorerSpec("ar_fim", AR_FIM_VERSION, "ar-fim", ar_fim_scores,
               "AR model in its FIM format; completion tokens + eos (suffix counts, overruns are penalised)"),
    ScorerSpec("diffusion", DIFFUSION_VERSION, "diffusion", diffusion_scores,
               "masked-diffusion pseudo-log-likelihood; one model row per completion token"),
)}


def combine(perplexities: list[float], how: str) -> float:
    """One perplexity from several scorers' perplexities of the same candidate.

    - "min": the most favourable scorer's; inf values are ignored unless all are inf.
    - "mean": the arithmetic mean; any inf makes it inf.
    - "harmonic": n / sum(1 / p); an inf contributes 0 to the reciprocal sum (still counted in n), so it raises
      the result without making it inf.
    Each rule is its own limit as one perplexity tends to inf, so a scorer that cannot score a candidate (an empty
    completion: inf) moves the result continuously. All inf -> inf under every rule."""
    if how not in COMBINE_RULES:
        raise ValueError(f"unknown combine rule {how!r}: choose from {', '.join(COMBINE_RULES)}")
    if not perplexities:
        raise ValueError("combine: no perplexities to combine")
    if any(math.isnan(p) or p <= 0 for p in perplexities):
        raise ValueError(f"combine: perplexities must be positive numbers, got {perplexities}")
    finite = [p for p in perplexities if math.isfinite(p)]
    if not finite:
        return math.inf
    if how == "min":
        return min(finite)
    if how == "mean":
        return math.inf if len(finite) < len(perplexities) else math.fsum(finite) / len(finite)
    return len(perplexities) / math.fsum(1 / p for p in finite)


def zscores(values: list[float]) -> list[float]:
    """Calibration over a run: z-scores of log-perplexities (mean NLLs) with the population standard deviation.
    inf values (unscorable candidates) stay inf and are excluded from the mean and std; when the finite values are
    all equal (or there is at most one) they all get 0."""
    if any(math.isnan(v) or v == -math.inf for v in values):
        raise ValueError(f"zscores: values must be finite or +inf, got {values}")
    finite = [v for v in values if math.isfinite(v)]
    if not finite or min(finite) == max(finite):
        # Checked on the values, not on std == 0: the mean of equal floats can differ from them by rounding.
        return [0.0 if math.isfinite(v) else math.inf for v in values]
    mean = math.fsum(finite) / len(finite)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in finite) / len(finite))
    return [(v - mean) / std if math.isfinite(v) else math.inf for v in values]
