"""The AR model's scorers: `ar_plain` (the published design: plain text, completion tokens only) and `ar_fim` (the
model's FIM format, the completion and its end token). Both take the keyword arguments every scorer takes
(infill.scoring.registry.Scorer.__call__); `ar_plain` reads neither a prompt format nor a window."""

from __future__ import annotations

import torch

from infill.scoring.nll import (
    encode_text,
    next_token_pairs,
    nll_rows,
    pad_id,
    scored_rows,
)
from infill.scoring.scored import Scored


@torch.inference_mode()
def ar_plain_scores(model, tokenizer, triples: list[tuple[str, str, str]], *, batch_size: int = 8,
                    chunk_positions: int = 256, prompt_format=None, window=None) -> list[Scored]:
    """Mean NLL of the completion's tokens in `prefix + completion + suffix` read as plain text (pieces tokenized
    separately). With an empty prefix the first completion token has no prediction and is not counted; an empty
    completion has 0 tokens (perplexity inf).

    The suffix is not run through the model: under causal attention no scored position sees it, so the score is the
    same quantity without it, at a fifth less compute on the tiny profile's contexts (24 prefix lines, 8 suffix
    lines). Like any change in a batch's widths, leaving it out can move a float64 score in its last bit (1 of
    256 SantaCoder rows, by 4e-16); the main job's results are identical (README: the main job's figures)."""
    rows = []
    for prefix, completion, _suffix in triples:
        head, middle = encode_text(tokenizer, prefix), encode_text(tokenizer, completion)
        ids = head + middle
        rows.append((ids, next_token_pairs(ids, len(head), len(ids))))
    return scored_rows(*nll_rows(model, rows, pad_id(tokenizer), batch_size, chunk_positions))


@torch.inference_mode()
def ar_fim_scores(model, tokenizer, triples: list[tuple[str, str, str]], *, prompt_format, batch_size: int = 8,
                  chunk_positions: int = 256, window=None) -> list[Scored]:
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
        ids = prompt + encode_text(tokenizer, completion) + [end]
        rows.append((ids, next_token_pairs(ids, len(prompt), len(ids))))
    return scored_rows(*nll_rows(model, rows, pad_id(tokenizer), batch_size, chunk_positions))
