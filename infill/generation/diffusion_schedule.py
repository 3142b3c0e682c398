"""Open-dCoder's unmasking schedule, computed in the reference's float32 arithmetic.

Open-dLLM's `_mdm_sample` computes every schedule count with float32 tensors:
- p2 (both variants): masks left after step i = `(n.float() * (1 - kappa)).long()` with `kappa = (i + 1) / steps`
  a Python float: `1 - kappa` is computed in float64, cast to float32 by the multiplication, the product is
  rounded to float32 and truncated.
- maskgit_plus / topk_margin / entropy: `timesteps = torch.linspace(1, eps, steps + 1)` (float32), `t, s =
  timesteps[i], timesteps[i + 1]`, n revealed = `(n_mask.float() * (1 - s / t)).long()` (every operation float32),
  all remaining masks at the last step.
- origin: each mask is revealed when a float32 uniform is `< 1 - s / t` (the same float32 fraction), 1 at the
  last step.
In float64 the products land on the other side of a whole number for some sizes (N = 11, 11 steps, step 8:
11 * (1 - 9 / 11) = 1.9999999999999996 -> 1, where float32 gives 2.0000000596 -> 2): at 115 of the step counts
1..128 for some N <= 128 (p2), and at steps 27, 37, 54, 81, 108, 111 for the top-n counts. That changes how
many tokens each step reveals, and so the outputs.

The timesteps are not taken from torch.linspace: its float32 result depends on the machine. The kernel computes
`start + step * i` (first half) and `end - step * (n - 1 - i)` (second half); CUDA (nvcc contracts this to a
fused multiply-add by default) and x86 CPUs with AVX2 or AVX-512 kernels round it once, but torch's DEFAULT x86
kernels (ATEN_CPU_CAPABILITY=default, or a CPU without AVX2) round the product and the sum separately, which
changes the last bit of the timesteps at 490 of the step counts 1..512 and the top-n counts at 7 of them
(74, 111, 222, 333, 351, 444, 481 for some N <= 128). Here the single-rounding values (those of the recorded
GPU run) are computed exactly, so the schedule is the same on every machine.

Every float32 operation is done exactly as IEEE float32 hardware does it, without torch: the counts with numpy
float32 arrays (a float32 product is the exact product rounded once, on every machine), the scalar timesteps in
Python: a quotient or difference of two float32 values computed in float64 and rounded to float32 is the float32
result (double rounding is harmless when the wider format has at least 2 * 24 + 2 significant bits), and the fused
`start + step * i` is computed exactly (checked with TwoSum, with an exact rational fallback).
"""

from __future__ import annotations

import math
import struct
from fractions import Fraction
from functools import lru_cache
from typing import Sequence

import numpy as np

EXACT_LIMIT = 1 << 24             # counts and step counts up to this are exact in float32 (the reference's n.float())


def _f32(value: float) -> float:
    """A double rounded to the nearest float32 (the C cast, ties to even)."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


def _bits(value: float) -> int:
    return struct.unpack("<I", struct.pack("<f", value))[0]


def to_float32(exact: Fraction) -> float:
    """An exact rational rounded once to the nearest float32 (ties to even)."""
    candidate = _f32(float(exact))          # float() rounds to a double first, which can land one float32 off
    if candidate == exact or not math.isfinite(candidate):
        return candidate
    bits = _bits(candidate)
    around = [struct.unpack("<f", struct.pack("<I", b))[0] for b in (max(bits - 1, 0), bits, bits + 1)]
    return min(around, key=lambda c: (abs(Fraction(c) - exact), _bits(c) & 1))


def _fused_sum(a: float, b: float) -> float:
    """`a + b` rounded once to float32, where b is an exact product: the fused multiply-add of the kernels."""
    total = a + b
    virtual = total - a
    if (a - (total - virtual)) + (b - virtual) == 0:          # TwoSum: the double sum was exact
        return _f32(total)
    return to_float32(Fraction(a) + Fraction(b))


def _check(values: Sequence[int], what: str) -> None:
    if values and not (0 <= min(values) and max(values) < EXACT_LIMIT):
        raise ValueError(f"{what} must be in 0..{EXACT_LIMIT - 1}, exact in float32")


@lru_cache(maxsize=512)
def _p2_factors(steps: int) -> np.ndarray:
    return np.array([1 - (i + 1) / steps for i in range(steps)], dtype=np.float32)   # float64 1 - kappa, cast


@lru_cache(maxsize=4096)
def p2_masks_left(n_variable: int, steps: int) -> tuple[int, ...]:
    """p2 (both variants): how many of the `n_variable` positions stay masked after each step 0..steps-1."""
    _check([n_variable, steps], "the number of masked positions and of steps")
    return tuple((np.float32(n_variable) * _p2_factors(steps)).astype(np.int64).tolist())


@lru_cache(maxsize=512)
def timesteps(steps: int, eps: float) -> tuple[float, ...]:
    """float32 `linspace(1, eps, steps + 1)` with each value rounded once, as CUDA's kernel computes it."""
    _check([steps], "the number of steps")
    count, start, end = steps + 1, 1.0, _f32(eps)
    if count == 1:
        return (start,)
    step = _f32(_f32(end - start) / (count - 1))
    halfway = count // 2
    return tuple(_fused_sum(start, step * i) if i < halfway else _fused_sum(end, -step * (count - 1 - i))
                 for i in range(count))


@lru_cache(maxsize=512)
def reveal_fractions(steps: int, eps: float) -> tuple[float, ...]:
    """float32 `1 - s / t` for every step (t, s the step's float32 timesteps)."""
    times = timesteps(steps, eps)
    return tuple(_f32(1.0 - _f32(times[i + 1] / times[i])) for i in range(steps))


def top_n_reveal_counts(n_masks: Sequence[int], step: int, steps: int, eps: float) -> list[int]:
    """maskgit_plus / topk_margin / entropy: positions revealed at `step` in rows with `n_masks` masks each."""
    _check(n_masks, "the number of masks")
    if step == steps - 1:
        return list(n_masks)
    fraction = np.float32(reveal_fractions(steps, eps)[step])
    return (np.asarray(n_masks, dtype=np.float32) * fraction).astype(np.int64).tolist()


def origin_reveal_probability(step: int, steps: int, eps: float) -> float:
    """origin: the probability (a float32 value) with which each mask is revealed at `step`."""
    return 1.0 if step == steps - 1 else reveal_fractions(steps, eps)[step]
