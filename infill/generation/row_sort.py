"""Each row's values in order, the sort the top-p filters need: values only, rows split over threads on a CPU.

Both top-p filters (the AR sampler's, transformers' TopPLogitsWarper; the diffusion sampler's, Open-dLLM's) need a
row's cumulative softmax in sorted order, which depends only on the sorted VALUES, not on which of several equal
values comes first. numpy sorts values several times faster than torch sorts values with their indices
(8192-token vocabulary: 0.15 vs 0.32 ms a row), runs on one core and releases the GIL, so the rows are split over
as many threads as torch computes with. Each row is sorted on its own, so the split cannot change a value."""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import numpy as np
import torch

ROWS_PER_THREAD = 16              # below this a thread's hand-off costs more than its share of the sort


def sorted_values(values: torch.Tensor, descending: bool) -> torch.Tensor:
    """The values of each row (last dimension) sorted; NaN last ascending and first descending, as torch.sort."""
    if values.device.type != "cpu" or values.dtype not in (torch.float32, torch.float64):
        return torch.sort(values, dim=-1, descending=descending).values
    array = values.detach().contiguous().numpy()
    rows = array.reshape(-1, array.shape[-1])
    ordered = np.empty_like(rows)
    bounds = np.linspace(0, len(rows), max(1, min(torch.get_num_threads(), len(rows) // ROWS_PER_THREAD)) + 1)
    parts = [(int(lo), int(hi)) for lo, hi in pairwise(bounds)]

    def sort_part(part: tuple[int, int]) -> None:
        ascending = np.sort(rows[part[0]:part[1]], axis=-1)
        ordered[part[0]:part[1]] = ascending[:, ::-1] if descending else ascending

    if len(parts) > 1:
        list(_threads().map(sort_part, parts))
    else:
        sort_part(parts[0])
    return torch.from_numpy(ordered.reshape(array.shape))


@functools.cache
def _threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=torch.get_num_threads(), thread_name_prefix="row-sort")
