"""The diffusion schedule counts are the reference's float32 values: compared with the reference's own expressions
evaluated with torch float32 tensors, for every step count 1..512 and every count 1..128."""

import math
import os
import platform
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from infill.generation.diffusion_schedule import (
    origin_reveal_probability,
    p2_masks_left,
    timesteps,
    to_float32,
    top_n_reveal_counts,
)

ROOT = Path(__file__).resolve().parents[1]
EPS = 1e-3
COUNTS = torch.arange(1, 129).unsqueeze(1)          # num_positions / num_mask_tokens, one row per count


def torch_linspace_is_fused() -> bool:
    """torch's DEFAULT x86 kernels round `start + step * i` twice (no fused multiply-add), unlike CUDA and the
    AVX2 / AVX-512 kernels: at 8 steps the two differ."""
    return torch.linspace(1, EPS, 9).tolist() == list(timesteps(8, EPS))


needs_fused_linspace = pytest.mark.skipif(not torch_linspace_is_fused(), reason="this CPU's torch.linspace rounds "
                                          "twice, unlike the GPU the reference ran on (see diffusion_schedule)")


def test_p2_masks_left_equal_the_reference_float32_expression_for_steps_1_to_512():
    for steps in range(1, 513):
        ours = [p2_masks_left(n, steps) for n in range(1, 129)]
        for i in range(steps):
            kappa_t = (i + 1) / steps
            reference = (COUNTS.float() * (1 - kappa_t)).long().squeeze(1).tolist()    # as Open-dLLM writes it
            assert [left[i] for left in ours] == reference, (steps, i)


def test_float64_would_differ_at_115_of_the_step_counts_1_to_128():
    differs = {steps for steps in range(1, 129) for n in range(1, 129)
               if list(p2_masks_left(n, steps)) != [math.floor(n * (1 - (i + 1) / steps)) for i in range(steps)]}
    assert len(differs) == 115 and 11 in differs


@needs_fused_linspace
def test_timesteps_equal_torch_float32_linspace_for_steps_1_to_512():
    for steps in range(1, 513):
        assert list(timesteps(steps, EPS)) == torch.linspace(1, EPS, steps + 1).tolist(), steps


@needs_fused_linspace
def test_top_n_counts_and_origin_probability_equal_the_reference_float32_expressions():
    counts = list(range(1, 129))
    for steps in range(1, 513):
        times = torch.linspace(1, EPS, steps + 1)                   # float32, as in the reference
        fractions = 1 - times[1:] / times[:-1]                      # `1 - s / t` for every step at once
        expected = (COUNTS.float().T * fractions[:-1, None]).long().tolist()
        for i in range(steps - 1):
            assert top_n_reveal_counts(counts, i, steps, EPS) == expected[i], (steps, i)
        assert top_n_reveal_counts(counts, steps - 1, steps, EPS) == counts       # all at the last step
        assert [origin_reveal_probability(i, steps, EPS) for i in range(steps)] == fractions[:-1].tolist() + [1.0]


@needs_fused_linspace
@pytest.mark.parametrize("steps", [27, 37, 54, 81, 108, 111])
def test_top_n_counts_where_float64_differs_one_step_at_a_time(steps):
    """The reference's scalar form (`t = timesteps[i]`, `s = timesteps[i + 1]`) at the step counts where the
    float64 computation gives another count."""
    times = torch.linspace(1, EPS, steps + 1)
    float64_differs = False
    for i in range(steps - 1):
        t, s = times[i], times[i + 1]
        reference = (COUNTS.float() * (1 - s / t)).long().squeeze(1).tolist()
        assert top_n_reveal_counts(range(1, 129), i, steps, EPS) == reference
        exact_times = torch.linspace(1, EPS, steps + 1, dtype=torch.float64)
        float64 = [math.floor(n * (1 - float(exact_times[i + 1]) / float(exact_times[i]))) for n in range(1, 129)]
        float64_differs |= float64 != reference
    assert float64_differs


def test_to_float32_rounds_once_to_nearest_even():
    for value in [0.1, 1 / 3, 0.999, 2.0000000596046448, 1e-3, -0.7]:
        assert to_float32(Fraction(value)) == float(np.float32(value))
    just_above_a_midpoint = 1 + Fraction(1, 2 ** 24) + Fraction(1, 2 ** 80)    # float() would drop the 2**-80
    assert to_float32(just_above_a_midpoint) == 1 + 2 ** -23
    assert to_float32(1 + Fraction(1, 2 ** 24)) == 1.0                         # an exact tie goes to even


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86 DEFAULT kernels only")
def test_torch_linspace_depends_on_the_cpu_kernels_and_our_timesteps_do_not():
    script = ("import torch; from infill.generation.diffusion_schedule import timesteps; "
              "print(torch.linspace(1, 1e-3, 75).tolist() == list(timesteps(74, 1e-3)), list(timesteps(74, 1e-3)))")
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "default", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True).stdout
    same, default_kernel_timesteps = out.split(" ", 1)
    assert same == "False"                          # torch's DEFAULT kernels round twice: other timesteps
    assert default_kernel_timesteps.strip() == str(list(timesteps(74, EPS)))


def test_counts_out_of_float32_range_are_refused():
    with pytest.raises(ValueError, match="exact in float32"):
        p2_masks_left(1 << 24, 64)
    with pytest.raises(ValueError, match="exact in float32"):
        top_n_reveal_counts([-1], 0, 64, EPS)
