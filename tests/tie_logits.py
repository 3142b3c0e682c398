"""Logits full of ties, for the top-p filters' tests: a tie across the cut is where the order among equals counts."""

import torch


def tied_logits(levels: int | None) -> torch.Tensor:
    """64 rows of 1000 logits; with `levels`, rounded to few distinct values (many ties at any cut). Row 0 is flat
    (every token ties), row 1 holds signed zeros (equal, though their bits differ)."""
    logits = torch.randn((64, 1000), generator=torch.Generator().manual_seed(levels or 0)) * 3
    if levels:
        logits = torch.round(logits * levels / 10) * 10 / levels
    logits[0, :] = 0.0
    logits[1, ::2] = -0.0
    return logits
