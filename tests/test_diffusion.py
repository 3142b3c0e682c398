"""The diffusion sampler: faithful to Open-dCoder's, and its optimisations exact against the reference."""

import pytest
import torch

from infill.generation.diffusion import (
    ALGORITHMS,
    DiffusionInfiller,
    DiffusionRequest,
    DiffusionSettings,
    make_bidirectional,
)
from infill.generation.diffusion_schedule import p2_masks_left
from tests.diffusion_reference import reference_infill
from tests.micro_models import micro_qwen2, micro_tokenizer

REQUESTS = [DiffusionRequest("a", "def add(a, b):\n", "\nprint(add(1, 2))\n", 5),
            DiffusionRequest("b", "for i in range(", ":\n    print(i)\n", 3),
            DiffusionRequest("c", "x = 1\n" * 6, "", 6),
            DiffusionRequest("d", "", "    return y\n", 4),
            DiffusionRequest("e", "class A:\n    def ", "(self):\n        pass\n", 1)]


@pytest.fixture(scope="module")
def infiller():
    tokenizer = micro_tokenizer()
    return DiffusionInfiller(micro_qwen2(len(tokenizer), seed=5, causal=False), tokenizer)


SETTINGS = [DiffusionSettings(steps=8, temperature=0.0, top_p=1.0, alg=alg) for alg in ALGORITHMS] + \
    [DiffusionSettings(steps=8, temperature=0.9, top_p=0.95, alg=alg, seed=3) for alg in ALGORITHMS] + \
    [DiffusionSettings(steps=6, temperature=0.7, top_p=0.9, top_k=20, alg="maskgit_plus", alg_temp=0.5, seed=1),
     DiffusionSettings(steps=5, temperature=0.0, top_p=1.0, alg="topk_margin", alg_temp=0.3)]


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: f"{s.alg}-t{s.temperature}-at{s.alg_temp}")
def test_fast_sampler_equals_the_reference(infiller, settings):
    fast = infiller.infill(REQUESTS, settings, batch_size=3)
    slow = [reference_infill(infiller.model, infiller.tokenizer, r.prefix, r.suffix, r.length, settings,
                             r.sample_id) for r in REQUESTS]
    assert fast == slow


def test_p2_schedule_counts(infiller):
    settings = DiffusionSettings(steps=8, temperature=0.9, alg="p2", seed=2)
    for request in REQUESTS:
        trace = []
        reference_infill(infiller.model, infiller.tokenizer, request.prefix, request.suffix, request.length,
                         settings, request.sample_id, trace)
        assert trace == list(p2_masks_left(request.length, 8))
    assert [p2_masks_left(10, 64)[i] for i in (0, 5, 6, 62, 63)] == [9, 9, 8, 0, 0]


def test_skipped_steps_and_finished_rows_cut_model_rows(infiller):
    settings = DiffusionSettings(steps=64, temperature=0.6, alg="p2")
    infiller.forwards = 0
    infiller.infill(REQUESTS, settings, batch_size=5)
    # p2 changes a row's state exactly when its masked count drops: `length` times, not 64
    assert infiller.forwards == sum(r.length for r in REQUESTS)


def test_a_sample_does_not_depend_on_its_batch(infiller):
    settings = DiffusionSettings(steps=8, temperature=1.0, top_p=0.95, alg="p2", seed=9)
    together = infiller.infill(REQUESTS, settings, batch_size=5)
    alone = [infiller.infill([r], settings, batch_size=1)[0] for r in REQUESTS]
    reordered = infiller.infill(REQUESTS[::-1], settings, batch_size=2)[::-1]
    assert together == alone == reordered


def test_attention_is_bidirectional_and_padding_is_never_attended():
    tokenizer = micro_tokenizer()
    model = make_bidirectional(micro_qwen2(len(tokenizer), seed=1))
    ids = torch.tensor([[5, 6, 7, 8, 9]])
    changed = torch.tensor([[5, 6, 7, 8, 10]])
    first = model(input_ids=ids, is_causal=False).logits[0, 0]
    assert not torch.allclose(first, model(input_ids=changed, is_causal=False).logits[0, 0])
    padded = torch.tensor([[5, 6, 7, 8, 9, 0, 0], [5, 6, 7, 8, 9, 10, 11]])
    attention = torch.tensor([[1, 1, 1, 1, 1, 0, 0], [1] * 7])
    out = model(input_ids=padded, attention_mask=attention, is_causal=False).logits
    assert torch.allclose(out[0, :5], model(input_ids=ids, is_causal=False).logits[0], atol=1e-5)


def test_shifted_head_row_j_is_predicted_by_position_j_minus_1(infiller):
    row_ids = [5, 6, 7, infiller.mask_id, infiller.mask_id, 9]
    from infill.generation.diffusion import _Row
    row = _Row(REQUESTS[0], row_ids, 3, 2, {3, 4})
    logits = infiller._logits_at([row], [[3, 4]])          # [positions of every row, vocab]
    full = infiller.model(input_ids=torch.tensor([row_ids]), is_causal=False).logits[0]
    shifted = torch.cat([full[:1], full[:-1]])
    assert torch.allclose(logits, shifted[[3, 4]], atol=1e-5)
    assert torch.allclose(logits[0], full[2], atol=1e-5)


def test_mask_id_comes_from_the_tokenizer():
    tokenizer = micro_tokenizer()
    model = micro_qwen2(len(tokenizer))
    assert DiffusionInfiller(model, tokenizer).mask_id == tokenizer.convert_tokens_to_ids("<M>")
    tokenizer.mask_token = None
    with pytest.raises(ValueError, match="no mask token"):
        DiffusionInfiller(model, tokenizer)


def reference_top_p_kept(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """The reference's top-p (Open-dLLM's `top_p_logits`): a stable descending argsort and a cumulative softmax."""
    ordered, order = torch.sort(logits, descending=True, stable=True)
    above = torch.cumsum(torch.softmax(ordered, dim=-1), dim=-1) > top_p
    remove = torch.zeros_like(above)
    remove[..., 1:] = above[..., :-1]
    return ~torch.zeros_like(remove).scatter(-1, order, remove)


@pytest.mark.parametrize("top_p", [0.05, 0.5, 0.9, 0.95, 0.999999])
@pytest.mark.parametrize("levels", [3, 40, None])        # few distinct values: many ties at the cut
def test_top_p_without_argsort_keeps_what_the_stable_sort_keeps(top_p, levels):
    from infill.generation.diffusion_tokens import top_p_kept
    from tests.tie_logits import tied_logits
    logits = tied_logits(levels)
    assert torch.equal(top_p_kept(logits, top_p), reference_top_p_kept(logits, top_p))


@pytest.mark.parametrize("threads", [1, 3])                   # rows sorted in one thread, or split over three
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("descending", [True, False])
def test_sorted_values_are_torchs_sorted_values(dtype, threads, descending, monkeypatch):
    from infill.generation.row_sort import sorted_values
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
    logits = torch.randn((70, 500), generator=torch.Generator().manual_seed(7), dtype=dtype)
    logits[1, ::3] = float("-inf")                           # top-k's filler
    logits[2, :] = 0.0
    logits[2, ::2] = -0.0
    logits[3, ::5] = torch.round(logits[3, ::5])             # ties
    expected = torch.sort(logits, dim=-1, descending=descending).values
    assert torch.equal(sorted_values(logits, descending), expected)
    logits[4, 17] = float("nan")                             # NaN first descending, last ascending, as torch.sort
    ordered, expected = sorted_values(logits, descending), torch.sort(logits, dim=-1, descending=descending).values
    nan_at = 0 if descending else -1
    assert torch.isnan(ordered[4, nan_at]) and torch.isnan(expected[4, nan_at])
    rest = slice(1, None) if descending else slice(None, -1)
    assert torch.equal(ordered[4, rest], expected[4, rest]) and torch.equal(ordered[5], expected[5])
