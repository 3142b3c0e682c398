"""Out-of-memory handling shared by the backends (AR generation, diffusion, scoring): halve the batch and rerun.

Halving is exact, not an approximation, because every backend computes a row independently of its batch (each
sample has its own random stream; padding is never attended). Only at batch size 1 does the error go up, with
`.batch_size` set, so that the caller can say which batch size failed (see LiveSource and ScoreService).
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch


def is_out_of_memory(error: BaseException) -> bool:
    # torch.cuda.OutOfMemoryError is a RuntimeError; other allocators (MPS, CPU) raise a plain RuntimeError
    return isinstance(error, torch.cuda.OutOfMemoryError) or "out of memory" in str(error).lower()


def run_halving_on_out_of_memory(items: Sequence, batch_size: int, run: Callable[[Sequence], None],
                                 save: Callable[[Sequence], object] | None = None,
                                 restore: Callable[[Sequence, object], None] | None = None) -> int:
    """Run `items` in consecutive chunks of `batch_size`. On out-of-memory: `restore` the chunk to what `save`
    took before it ran (for backends that change their rows in place), halve the batch and run the chunk again.
    Returns the batch size that fitted, so that a second pass over the same rows can start there."""
    first = 0
    while first < len(items):
        chunk = items[first:first + batch_size]
        saved = save(chunk) if save else None
        try:
            run(chunk)
        except RuntimeError as error:           # torch.cuda.OutOfMemoryError included
            if not is_out_of_memory(error) or batch_size == 1:
                error.batch_size = batch_size
                raise
            if restore:
                restore(chunk, saved)
            batch_size = max(1, batch_size // 2)
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            continue
        first += len(chunk)
    return batch_size


def out_of_memory_error(error: RuntimeError, what: str, done: int, total: int, kind: str, cached: bool,
                        batch_option: str = ""):
    """The one-line usage error for an out-of-memory at batch size 1 (an InfillUsageError to raise `from None`), or
    None when `error` is not an out-of-memory (the caller re-raises it). `what`: 'model X ... generating B'."""
    from infill.errors import InfillUsageError
    if not is_out_of_memory(error):
        return None
    saved = f"the {done} of {total} {kind} done are in the cache" if cached else \
        f"{done} of {total} {kind} were done (--infill-no-cache: not kept)"
    smaller = "a smaller --infill-batch-size, " if batch_option else ""
    return InfillUsageError(
        f"{what} at batch size {getattr(error, 'batch_size', 1)}{batch_option}; {saved}: rerun with {smaller}"
        f"--infill-sequential-models (one model in memory at a time) or --infill-dtype bfloat16")
