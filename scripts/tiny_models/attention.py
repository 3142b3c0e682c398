"""Attention checks: causal vs bidirectional, and switching a model to bidirectional."""

from __future__ import annotations

import torch


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
