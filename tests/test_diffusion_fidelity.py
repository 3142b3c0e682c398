"""The fast diffusion sampler against the straightforward reference (tests/diffusion_reference.py) at the step
counts where float64 schedule arithmetic used to differ, on the shipped tiny diffusion model and on a random-weight
model with the real Qwen2.5 tokenizer; the float32 reveal counts step by step; the tie rule."""

from pathlib import Path

import pytest
import torch

from infill.generation.diffusion import (
    ALGORITHMS,
    DiffusionInfiller,
    DiffusionRequest,
    DiffusionSettings,
    rank_positions,
)
from tests.diffusion_reference import reference_infill
from tests.micro_models import micro_qwen2, micro_tokenizer

TINY_DIFFUSION = Path(__file__).resolve().parents[1] / "infill" / "models" / "tiny" / "tiny-qwen2-diffusion"
QWEN_TOKENIZER = Path(__file__).parent / "data" / "qwen2.5-coder-tokenizer"
REQUESTS = [DiffusionRequest("he/0", "def add(a, b):\n    ", "\n\n\nprint(add(1, 2))\n", 7),
            DiffusionRequest("he/1", "for i in range(10):\n", "    print(i)\n", 11),
            DiffusionRequest("he/2", "class Walker:\n    def files(self):\n        return ", "\n", 4)]
STEPS = [11, 16, pytest.param(33, marks=pytest.mark.slow), pytest.param(64, marks=pytest.mark.slow)]


def greedy(alg: str, steps: int) -> DiffusionSettings:
    """The published settings but greedy: top_p 0.95 still shapes every confidence."""
    return DiffusionSettings(steps=steps, temperature=0.0, top_p=0.95, alg=alg)


@pytest.fixture(scope="module")
def tiny():
    from transformers import AutoModelForCausalLM, AutoTokenizer
    model = AutoModelForCausalLM.from_pretrained(TINY_DIFFUSION, dtype=torch.float32).eval()
    return DiffusionInfiller(model, AutoTokenizer.from_pretrained(TINY_DIFFUSION))


@pytest.fixture(scope="module")
def qwen_random():
    """A small random-weight Qwen2 over the real Qwen2.5 vocabulary, with Open-dLLM's added mask token <M>."""
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM
    tokenizer = AutoTokenizer.from_pretrained(QWEN_TOKENIZER)
    tokenizer.add_special_tokens({"mask_token": "<M>"})
    assert tokenizer.mask_token_id == 151665
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=151936, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False)
    return DiffusionInfiller(Qwen2ForCausalLM(config).eval(), tokenizer)


def check_against_reference(infiller, settings, requests=REQUESTS):
    fast = infiller.infill(requests, settings, batch_size=3)
    slow = [reference_infill(infiller.model, infiller.tokenizer, r.prefix, r.suffix, r.length, settings,
                             r.sample_id) for r in requests]
    assert fast == slow
    assert any(fast)                                             # the models do fill something in


@pytest.mark.parametrize("steps", STEPS)
@pytest.mark.parametrize("alg", ALGORITHMS)
def test_tiny_model_greedy_equals_the_reference(tiny, alg, steps):
    check_against_reference(tiny, greedy(alg, steps))


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_real_tokenizer_random_model_greedy_equals_the_reference_at_11_steps(qwen_random, alg):
    check_against_reference(qwen_random, greedy(alg, 11), REQUESTS[2:])        # the full vocabulary is slow


@pytest.mark.slow
@pytest.mark.parametrize("steps", [11, 16, 33, 64])
@pytest.mark.parametrize("alg", ALGORITHMS)
def test_real_tokenizer_random_model_greedy_equals_the_reference(qwen_random, alg, steps):
    check_against_reference(qwen_random, greedy(alg, steps))


def masks_before_each_step(infiller, request, settings, monkeypatch) -> list[int]:
    """Masks left at the start of every step of the fast sampler, and 0 after the last."""
    seen: dict[int, int] = {}
    real = DiffusionInfiller._changes

    def spy(self, row, step, settings, uniforms):
        seen.setdefault(step, len(row.masked))
        return real(self, row, step, settings, uniforms)
    monkeypatch.setattr(DiffusionInfiller, "_changes", spy)
    infiller.infill([request], settings, batch_size=1)
    return [seen.get(step, 0) for step in range(settings.steps)] + [0]


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_eleven_masks_at_eleven_steps_reveal_as_the_float32_schedule(tiny, alg, monkeypatch):
    """p2 reveals one token per step (float32: 11 * (1 - 9/11) = 2.0000000596 -> 2 masks left after step 8; in
    float64 1.9999999999999996 -> 1, which revealed 2 tokens at step 8 and none at step 9)."""
    request = DiffusionRequest("he/11", "def add(a, b):\n    ", "\n", 11)
    settings = greedy(alg, 11)
    before = masks_before_each_step(tiny, request, settings, monkeypatch)
    revealed = [a - b for a, b in zip(before, before[1:])]
    trace: list[int] = []
    reference_infill(tiny.model, tiny.tokenizer, request.prefix, request.suffix, 11, settings, "he/11", trace)
    assert before[1:] == trace
    if alg in ("p2", "p2_remask"):
        assert revealed == [1] * 11
    elif alg != "origin":
        times, left, expected = torch.linspace(1, 1e-3, 12), 11, []
        for i in range(11):                                      # the reference's expression, step by step
            t, s = times[i], times[i + 1]
            n = left if i == 10 else int((torch.tensor([left]).float() * (1 - s / t)).long())
            expected.append(n)
            left -= n
        assert revealed == expected == [0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]


def test_rank_positions_tie_rule():
    assert rank_positions([3, 4, 5, 6], [0.5, 1.0, 1.0, 0.2], equals_leftmost_first=True) == [4, 5, 3, 6]
    assert rank_positions([3, 4, 5, 6], [0.5, 1.0, 1.0, 0.2], equals_leftmost_first=False) == [5, 4, 3, 6]


@pytest.fixture
def flat_infiller(monkeypatch):
    """Every position gets the same logits, so every confidence is equal: only the tie rule decides."""
    tokenizer = micro_tokenizer()
    infiller = DiffusionInfiller(micro_qwen2(len(tokenizer), seed=2, causal=False), tokenizer)
    flat = torch.linspace(0, 3, len(tokenizer))
    infiller.model.lm_head.register_forward_hook(lambda module, args, out: flat.expand_as(out).clone())
    return infiller


@pytest.mark.parametrize("alg, revealed_by_step_0", [("p2", [2, 3]), ("p2_remask", [2, 3]), ("maskgit_plus", [0]),
                                                      ("topk_margin", [0]), ("entropy", [0])])
def test_among_equal_confidences_p2_reveals_the_rightmost_and_top_n_the_leftmost(flat_infiller, alg,
                                                                               revealed_by_step_0, monkeypatch):
    """4 masks, 2 steps: p2 keeps 2 masked after step 0 (a stable ascending argsort masks the leftmost of equals);
    the top-n algorithms reveal floor(4 * 0.4995) = 1 (topk on a GPU takes the leftmost of equals)."""
    request = DiffusionRequest("tie", "x = ", "\n", 4)
    settings = DiffusionSettings(steps=2, temperature=0.0, top_p=1.0, alg=alg)
    masked_after: list[list[int]] = []
    real = DiffusionInfiller._step

    def spy(self, rows, step, settings, draws):
        real(self, rows, step, settings, draws)
        masked_after.append(sorted(p - rows[0].start for p in rows[0].masked))
    monkeypatch.setattr(DiffusionInfiller, "_step", spy)
    fast = flat_infiller.infill([request], settings, batch_size=1)
    assert [p for p in range(4) if p not in masked_after[0]] == revealed_by_step_0
    trace: list[int] = []
    assert fast == [reference_infill(flat_infiller.model, flat_infiller.tokenizer, request.prefix, request.suffix,
                                     4, settings, "tie", trace)]
    assert trace[0] == len(masked_after[0])
