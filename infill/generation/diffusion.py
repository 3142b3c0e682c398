"""Masked-diffusion infilling (Open-dCoder's sampler), exact and fast.

Canvas: prefix ids + mask x length + suffix ids (`infill.models.prompt_formats.DiffusionCanvas`). Each step runs the model with
bidirectional attention, shifts the logits right by one (row j predicts token j: the hidden state at j - 1
predicts token j, as Open-dCoder was trained), samples tokens and confidences, and unmasks by the algorithm.

Algorithms (`DiffusionSettings.alg`):
- `p2` (original release, used for the published figures): sample at masked positions; after step i exactly
  floor(N * (1 - (i + 1) / steps)) of the N variable positions stay masked (the least confident); decoded tokens
  are never re-masked.
- `p2_remask` (the later rewrite): sample at every variable position; the floor(N(1 - kappa)) least-confident
  variable positions are (re-)masked; newly unmasked ones take the new sample, kept ones keep their token.
- `maskgit_plus` / `topk_margin` / `entropy`: reveal the top-n masked positions by confidence (p(x0), top1 - top2,
  or sum p log p) with n = floor(n_mask * (1 - s / t)), all at the last step; `alg_temp > 0` selects by
  Gumbel-top-k on confidence / alg_temp.
- `origin`: each mask is revealed independently with probability 1 - s / t.

Randomness is addressed, not streamed: the uniforms for (sample, step) come from a generator seeded by
(seed, sample id, step), one per canvas position. So a sample's output does not depend on its batch, and steps
skipped because they cannot change anything do not shift any later draw.

Exact optimisations (tests compare against a straightforward reference kept in tests/diffusion_reference.py):
a row runs the model only at steps where its state can change (p2: when its masked count drops; origin: when a
draw reveals something; top-n algorithms: when n > 0); rows with no mask left leave the batch; rows are batched
by canvas length; the vocabulary projection is applied only at the positions whose logits are used.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import torch

from infill.config.settings import ALGORITHMS, DiffusionSettings
from infill.generation.memory import run_halving_on_out_of_memory
from infill.generation.sampling import filtered_probabilities
from infill.models.prompt_formats import DIFFUSION_CANVAS, DiffusionCanvas



@dataclass(frozen=True)
class DiffusionRequest:
    sample_id: str
    prefix: str
    suffix: str
    length: int                       # masked tokens in the canvas


def make_bidirectional(model):
    """Stock transformers: config.is_causal=False builds a bidirectional padding mask; `is_causal=False` is also
    passed to every forward, because without padding the mask is skipped and SDPA would fall back to causal."""
    model.config.is_causal = False
    return model


def step_uniforms(seed: int, sample_id: str, step: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two uniform vectors over the canvas for (sample, step): token draws and selection draws."""
    digest = hashlib.sha256(f"{seed}\0{sample_id}\0{step}".encode()).digest()
    generator = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & ((1 << 63) - 1))
    return torch.rand(length, generator=generator, dtype=torch.float64), \
        torch.rand(length, generator=generator, dtype=torch.float64)


def masks_after_step(n_variable: int, step: int, steps: int) -> int:
    """p2's linear schedule: masks left after step `step` (0-based)."""
    return math.floor(n_variable * (1 - (step + 1) / steps))


def timesteps(settings: DiffusionSettings) -> torch.Tensor:
    return torch.linspace(1, settings.eps, settings.steps + 1, dtype=torch.float64)


def reveal_count(n_mask: int, step: int, settings: DiffusionSettings, times: torch.Tensor) -> int:
    """Top-n algorithms: positions revealed at this step."""
    if step == settings.steps - 1:
        return n_mask
    t, s = float(times[step]), float(times[step + 1])
    return math.floor(n_mask * (1 - s / t))


def sample_with_confidence(logits: torch.Tensor, uniforms: torch.Tensor, settings: DiffusionSettings):
    """Tokens and confidences for rows of `logits` [n, vocab]; `uniforms` [n] drive inverse-CDF sampling."""
    probabilities = filtered_probabilities(logits, settings.temperature, settings.top_p, settings.top_k,
                                           top_k_first=False)              # the reference order
    if settings.temperature > 0:
        cumulative = probabilities.double().cumsum(dim=-1)
        cumulative[:, -1] = 1.0 + 1e-9
        tokens = torch.searchsorted(cumulative, uniforms.to(cumulative.device).unsqueeze(-1)).squeeze(-1)
    else:
        tokens = probabilities.argmax(dim=-1)
    if settings.alg == "topk_margin":
        top2 = torch.topk(probabilities, 2, dim=-1).values
        confidence = top2[:, 0] - top2[:, 1]
    elif settings.alg == "entropy":
        confidence = (probabilities * torch.log(probabilities.clamp_min(1e-30))).sum(dim=-1)
    else:
        confidence = probabilities.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
    return tokens, confidence.double()


def rank_positions(positions: list[int], scores: list[float]) -> list[int]:
    """Positions ordered from most to least preferred; ties go to the leftmost position (deterministic)."""
    return [p for _, p in sorted(zip(scores, positions), key=lambda sp: (-sp[0], sp[1]))]


@dataclass
class _Row:
    request: DiffusionRequest
    ids: list[int]
    start: int                        # first masked position
    length: int                       # variable positions: start .. start + length
    masked: set

    @property
    def variable(self) -> range:
        return range(self.start, self.start + self.length)


class DiffusionInfiller:
    def __init__(self, model, tokenizer, canvas: DiffusionCanvas = DIFFUSION_CANVAS):
        if tokenizer.mask_token_id is None:
            raise ValueError("the tokenizer has no mask token: a masked-diffusion model needs one (Open-dCoder: <M>)")
        self.model, self.tokenizer, self.canvas = make_bidirectional(model), tokenizer, canvas
        self.mask_id = tokenizer.mask_token_id
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.device = next(model.parameters()).device
        self.forwards = 0             # model rows run (a row in a batch counts one): for the benchmark

    def infill(self, requests: list[DiffusionRequest], settings: DiffusionSettings, batch_size: int,
               with_confidence: bool = False):
        """Completions (decoded from the masked slice only); with `with_confidence`, also each completion's mean
        log-probability under the model on the final canvas (the length policies choose by it)."""
        if settings.alg not in ALGORITHMS:
            raise ValueError(f"unknown diffusion algorithm {settings.alg!r}: choose from {', '.join(ALGORITHMS)}")
        rows = []
        for request in requests:
            ids, start = self.canvas.encode(self.tokenizer, request.prefix, request.suffix, request.length,
                                            settings.window)
            start = max(start, 0)
            rows.append(_Row(request, ids, start, request.length,
                             {p for p in range(start, start + request.length) if ids[p] == self.mask_id}))
        order = sorted(range(len(rows)), key=lambda i: (len(rows[i].ids), i))     # bucket by canvas length

        def save(chunk: list[int]) -> list[tuple[list[int], set]]:   # _run changes its rows in place
            return [(list(rows[i].ids), set(rows[i].masked)) for i in chunk]

        def restore(chunk: list[int], saved: list[tuple[list[int], set]]) -> None:
            for i, (ids, masked) in zip(chunk, saved):
                rows[i].ids, rows[i].masked = ids, masked
        batch_size = run_halving_on_out_of_memory(
            order, batch_size, lambda chunk: self._run([rows[i] for i in chunk], settings), save, restore)
        texts = [self.tokenizer.decode([t for t in row.ids[row.start:row.start + row.length] if t != self.mask_id],
                                       skip_special_tokens=True) for row in rows]
        if not with_confidence:
            return texts
        confidence = [0.0] * len(rows)

        def score(chunk: list[int]) -> None:
            with torch.inference_mode():
                logits = self._logits_at([rows[i] for i in chunk], [list(rows[i].variable) for i in chunk])
            for i, row_logits in zip(chunk, logits):
                row = rows[i]
                if row.length:
                    targets = torch.tensor(row.ids[row.start:row.start + row.length], device=row_logits.device)
                    logprobs = torch.log_softmax(row_logits.float(), dim=-1).gather(-1, targets[:, None])
                    confidence[i] = float(logprobs.mean())
        run_halving_on_out_of_memory(order, batch_size, score)
        return texts, confidence

    def _changes(self, row: _Row, step: int, settings: DiffusionSettings, times, uniforms) -> bool:
        """Can this step change the row's state? Decided before running the model (exactly)."""
        if not row.masked and settings.alg != "p2_remask":
            return False
        if settings.alg == "p2":
            return masks_after_step(row.length, step, settings.steps) < len(row.masked)
        if settings.alg == "p2_remask":
            return row.length > 0
        if settings.alg == "origin":
            t, s = float(times[step]), float(times[step + 1])
            reveal = 1.0 if step == settings.steps - 1 else 1 - s / t
            return any(float(uniforms[1][p]) < reveal for p in row.masked)
        return reveal_count(len(row.masked), step, settings, times) > 0

    @torch.inference_mode()
    def _run(self, rows: list[_Row], settings: DiffusionSettings) -> None:
        times = timesteps(settings)
        for step in range(settings.steps):
            draws = {id(r): step_uniforms(settings.seed, r.request.sample_id, step, len(r.ids)) for r in rows}
            active = [r for r in rows if self._changes(r, step, settings, times, draws[id(r)])]
            if active:
                self._step(active, step, settings, times, draws)
            if settings.alg != "p2_remask":
                rows = [r for r in rows if r.masked]               # finished rows leave the batch
                if not rows:
                    return

    def _logits_at(self, rows: list[_Row], wanted: list[list[int]]) -> list[torch.Tensor]:
        """Shifted logits at the wanted positions of each row: row j is predicted by the hidden state at j - 1."""
        width = max(len(r.ids) for r in rows)
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):                               # right padding: positions as when alone
            input_ids[i, :len(row.ids)] = torch.tensor(row.ids)
            attention[i, :len(row.ids)] = 1
        hidden = self.model.model(input_ids=input_ids.to(self.device), attention_mask=attention.to(self.device),
                                  is_causal=False).last_hidden_state
        self.forwards += len(rows)
        index_rows = torch.tensor([i for i, w in enumerate(wanted) for _ in w], device=self.device)
        index_pos = torch.tensor([max(p - 1, 0) for w in wanted for p in w], device=self.device)
        logits = self.model.lm_head(hidden[index_rows, index_pos])
        return list(torch.split(logits, [len(w) for w in wanted]))

    def _step(self, rows: list[_Row], step: int, settings: DiffusionSettings, times, draws) -> None:
        remask = settings.alg == "p2_remask"
        wanted = [list(r.variable) if remask else sorted(r.masked) for r in rows]
        for row, positions, logits in zip(rows, wanted, self._logits_at(rows, wanted)):
            token_draws, select_draws = draws[id(row)]
            index = torch.tensor(positions)
            tokens, confidence = sample_with_confidence(logits, token_draws[index], settings)
            tokens, confidence = tokens.tolist(), confidence.tolist()
            if settings.alg == "p2":
                keep = masks_after_step(row.length, step, settings.steps)
                reveal = rank_positions(positions, confidence)[: len(positions) - keep]
            elif remask:
                keep = masks_after_step(row.length, step, settings.steps)
                ranked = rank_positions(positions, confidence)
                masked_now = set(ranked[len(ranked) - keep:]) if keep else set()
                new_ids = list(row.ids)
                for p, token in zip(positions, tokens):
                    if p in masked_now:
                        new_ids[p] = self.mask_id
                    elif p in row.masked:
                        new_ids[p] = token
                row.ids, row.masked = new_ids, masked_now
                continue
            elif settings.alg == "origin":
                t, s = float(times[step]), float(times[step + 1])
                probability = 1.0 if step == settings.steps - 1 else 1 - s / t
                reveal = [p for p in positions if float(select_draws[p]) < probability]
            else:
                n = reveal_count(len(positions), step, settings, times)
                if settings.alg_temp > 0:                            # Gumbel-top-k on confidence / alg_temp
                    gumbel = [-math.log(-math.log(min(max(float(select_draws[p]), 1e-12), 1 - 1e-12)))
                              for p in positions]
                    scores = [c / settings.alg_temp + g for c, g in zip(confidence, gumbel)]
                else:
                    scores = confidence
                reveal = rank_positions(positions, scores)[:n]
            chosen = dict(zip(positions, tokens))
            for p in reveal:
                row.ids[p] = chosen[p]
                row.masked.discard(p)
