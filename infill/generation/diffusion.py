"""Masked-diffusion infilling (Open-dCoder's sampler), exact and fast.

Canvas: prefix ids + mask x length + suffix ids (`infill.models.prompt_formats.DiffusionCanvas`). Each step runs the model with
bidirectional attention, shifts the logits right by one (row j predicts token j: the hidden state at j - 1
predicts token j, as Open-dCoder was trained), samples tokens and confidences (`diffusion_tokens`), and unmasks by
the algorithm. Every schedule count is the reference's float32 value (`diffusion_schedule`), not float64's.

Algorithms (`DiffusionSettings.alg`):
- `p2` (original release, used for the published figures): sample at masked positions; after step i
  `p2_masks_left` of the N variable positions stay masked (the least confident); decoded tokens are never
  re-masked.
- `p2_remask` (the later rewrite): sample at every variable position; the `p2_masks_left` least-confident
  variable positions are (re-)masked; newly unmasked ones take the new sample, kept ones keep their token.
- `maskgit_plus` / `topk_margin` / `entropy`: reveal the `top_n_reveal_counts` most confident masked positions
  (p(x0), top1 - top2, or sum p log p), all at the last step; `alg_temp > 0` selects by Gumbel-top-k on
  confidence / alg_temp (our Gumbel noise is float64 from our own draws; the reference's is drawn in the logits'
  dtype from torch's global generator).
- `origin`: each mask is revealed independently with probability `origin_reveal_probability` (float32 1 - s/t).

Ties (equal confidences, common in bf16 and at p = 1.0), decided deterministically as the reference does on a
GPU, where its rows are longer than 32 tokens: p2 / p2_remask re-mask the lowest confidences first with a stable
ascending `argsort`, so among equals the leftmost stays masked (the rightmost is revealed first); the top-n
algorithms take `torch.topk`, whose CUDA kernel gathers equal values in index order, so among equals the leftmost
is revealed first. (On a CPU the reference's order among equals is unspecified: torch 2.13's non-stable argsort
and topk order them differently depending on the row length.)

Batch independence (unlike the reference): padded keys are masked out, right padding keeps every row's positions
as when alone, and randomness is addressed, not streamed: the uniforms for (sample, step) come from a generator
seeded by (seed, sample id, step), one per canvas position. So a sample's output does not depend on its batch,
and steps skipped because they cannot change anything do not shift any later draw. The reference right-pads a
batch and runs without an attention mask (`_mdm_sample` builds one only when the model config has a pad_token_id;
docs/open-dllm.md: it passes none), so with bidirectional attention every position, the masked middle included,
attends to the padding after its own suffix as if it were context; how much padding a sample gets depends on the
other samples in its batch, and so do its logits, confidences, unmasking order and completion. Its random draws
come from one global stream shaped by the batch as well.

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
from infill.generation.diffusion_schedule import origin_reveal_probability, p2_masks_left, top_n_reveal_counts
from infill.generation.diffusion_tokens import sample_with_confidence
from infill.generation.memory import run_halving_on_out_of_memory
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


def rank_positions(positions: list[int], scores: list[float], equals_leftmost_first: bool) -> list[int]:
    """Positions from most to least preferred (highest score first); among equal scores the leftmost comes first
    when `equals_leftmost_first`, else the rightmost (see the module docstring for why each algorithm uses which)."""
    side = 1 if equals_leftmost_first else -1
    return [p for _, p in sorted(zip(scores, positions), key=lambda sp: (-sp[0], side * sp[1]))]


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
        self.on_rows_done = None      # called with how many rows just finished (progress only)

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
            for i, row_logits in zip(chunk, logits.split([rows[i].length for i in chunk])):
                row = rows[i]
                if row.length:
                    targets = torch.tensor(row.ids[row.start:row.start + row.length], device=row_logits.device)
                    logprobs = torch.log_softmax(row_logits.float(), dim=-1).gather(-1, targets[:, None])
                    confidence[i] = float(logprobs.mean())
        run_halving_on_out_of_memory(order, batch_size, score)
        return texts, confidence

    def _changes(self, row: _Row, step: int, settings: DiffusionSettings, uniforms) -> bool:
        """Can this step change the row's state? Decided before running the model (exactly)."""
        if not row.masked and settings.alg != "p2_remask":
            return False
        if settings.alg == "p2":
            return p2_masks_left(row.length, settings.steps)[step] < len(row.masked)
        if settings.alg == "p2_remask":
            return row.length > 0
        if settings.alg == "origin":
            probability = origin_reveal_probability(step, settings.steps, settings.eps)
            return any(float(uniforms[1][p]) < probability for p in row.masked)
        return top_n_reveal_counts([len(row.masked)], step, settings.steps, settings.eps)[0] > 0

    @torch.inference_mode()
    def _run(self, rows: list[_Row], settings: DiffusionSettings) -> None:
        for step in range(settings.steps):
            draws = {id(r): step_uniforms(settings.seed, r.request.sample_id, step, len(r.ids)) for r in rows}
            active = [r for r in rows if self._changes(r, step, settings, draws[id(r)])]
            if active:
                self._step(active, step, settings, draws)
            if settings.alg != "p2_remask":
                left = [r for r in rows if r.masked]               # finished rows leave the batch
                if self.on_rows_done is not None and len(left) < len(rows):
                    self.on_rows_done(len(rows) - len(left))
                rows = left
                if not rows:
                    return

    def _logits_at(self, rows: list[_Row], wanted: list[list[int]]) -> torch.Tensor:
        """Shifted logits at the wanted positions of each row, row after row ([sum of wanted, vocab]): row j is
        predicted by the hidden state at j - 1."""
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
        return self.model.lm_head(hidden[index_rows, index_pos])

    def _step(self, rows: list[_Row], step: int, settings: DiffusionSettings, draws) -> None:
        remask = settings.alg == "p2_remask"
        wanted = [list(r.variable) if remask else sorted(r.masked) for r in rows]
        uniforms = torch.cat([draws[id(row)][0][torch.tensor(positions, dtype=torch.long)]
                              for row, positions in zip(rows, wanted)])
        # one call for the step's rows: every operation in it is row by row (diffusion_tokens)
        tokens, confidence = sample_with_confidence(self._logits_at(rows, wanted), uniforms, settings,
                                                    [len(w) for w in wanted])
        tokens, confidence, first = tokens.tolist(), confidence.tolist(), 0
        for row, positions in zip(rows, wanted):
            row_tokens, row_confidence = tokens[first:first + len(positions)], confidence[first:first + len(positions)]
            first += len(positions)
            if remask:
                self._remask(row, positions, row_tokens, row_confidence,
                             p2_masks_left(row.length, settings.steps)[step])
                continue
            chosen = dict(zip(positions, row_tokens))
            for p in self._revealed(row, positions, row_confidence, draws[id(row)][1], step, settings):
                row.ids[p] = chosen[p]
                row.masked.discard(p)

    def _remask(self, row: _Row, positions: list[int], tokens: list[int], confidence: list[float], keep: int):
        """p2_remask: the `keep` least confident variable positions are masked, newly unmasked ones take their
        sample, the others keep their token."""
        ranked = rank_positions(positions, confidence, equals_leftmost_first=False)
        masked_now = set(ranked[len(ranked) - keep:]) if keep else set()
        for p, token in zip(positions, tokens):
            if p in masked_now:
                row.ids[p] = self.mask_id
            elif p in row.masked:
                row.ids[p] = token
        row.masked = masked_now

    @staticmethod
    def _revealed(row: _Row, positions: list[int], confidence: list[float], select_draws, step: int,
                  settings: DiffusionSettings) -> list[int]:
        """The masked `positions` that take their sample at this step (p2, origin, top-n algorithms)."""
        if settings.alg == "p2":
            keep = p2_masks_left(row.length, settings.steps)[step]
            return rank_positions(positions, confidence, equals_leftmost_first=False)[: len(positions) - keep]
        if settings.alg == "origin":
            probability = origin_reveal_probability(step, settings.steps, settings.eps)
            return [p for p in positions if float(select_draws[p]) < probability]
        n = top_n_reveal_counts([len(positions)], step, settings.steps, settings.eps)[0]
        scores = confidence
        if settings.alg_temp > 0:                                    # Gumbel-top-k on confidence / alg_temp
            gumbel = [-math.log(-math.log(min(max(float(select_draws[p]), 1e-12), 1 - 1e-12))) for p in positions]
            scores = [c / settings.alg_temp + g for c, g in zip(confidence, gumbel)]
        return rank_positions(positions, scores, equals_leftmost_first=True)[:n]
