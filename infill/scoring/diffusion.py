"""The masked-diffusion model's scorer: pseudo-log-likelihood of the completion with prefix and suffix around it."""

from __future__ import annotations

import torch

from infill.models.prompt_formats import DIFFUSION_CANVAS
from infill.scoring.nll import encode_text, nll_rows, pad_id, scored_rows
from infill.scoring.scored import Scored


@torch.inference_mode()
def diffusion_scores(model, tokenizer, triples: list[tuple[str, str, str]], *, batch_size: int = 16,
                     chunk_positions: int = 256, window: tuple[int, int] | None = None,
                     prompt_format=None) -> list[Scored]:
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
        middle = encode_text(tokenizer, completion)
        ids, start = DIFFUSION_CANVAS.encode(tokenizer, prefix, suffix, len(middle), window)
        for p in range(max(start, 0), start + len(middle)):
            ids[p] = middle[p - start]
        for p in range(max(start, 1), start + len(middle)):
            rows.append((ids, [(p - 1, ids[p])]))              # masked at p when batched (no copy per row)
            owners.append(index), positions.append(p)
    nll, count = nll_rows(model, rows, pad_id(tokenizer), batch_size, chunk_positions, bidirectional=True,
                           masks=(mask_id, positions))
    totals, counts = [0.0] * len(triples), [0] * len(triples)
    for owner, total, n in zip(owners, nll, count):
        totals[owner] += total
        counts[owner] += n
    return scored_rows(totals, counts)
