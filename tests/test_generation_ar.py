import pytest
import torch

from infill.generation.ar import ARFimGenerator, Request
from infill.generation.sampling import SamplingSettings, filtered_probabilities, sample_seed
from infill.models.prompt_formats import QWEN
from tests.micro_models import micro_qwen2, micro_tokenizer

PREFIXES = ["def add(a, b):\n", "for i in range(", "class A:\n    def ", "if x > 0:\n    y = ", "x = 1\n",
            "def f():\n    return ", "print(", "y = x\nelse:\n"]


@pytest.fixture(scope="module")
def generator():
    tokenizer = micro_tokenizer()
    model = micro_qwen2(len(tokenizer))
    return ARFimGenerator(model, tokenizer, QWEN)


def requests(n):
    return [Request(f"task/{i}", PREFIXES[i % len(PREFIXES)] * (1 + i % 3), "\n    return y\n") for i in range(n)]


@pytest.mark.parametrize("settings", [SamplingSettings(), SamplingSettings(temperature=0.8, top_p=0.95, seed=7)],
                         ids=["greedy", "sampled"])
def test_same_seed_same_completions_whatever_the_batch(generator, settings):
    batch = requests(32)
    one_by_one = generator.generate(batch, settings, max_new_tokens=12, batch_size=1)
    by_eight = generator.generate(batch, settings, max_new_tokens=12, batch_size=8)
    reordered = list(reversed(batch))
    by_32_reversed = generator.generate(reordered, settings, max_new_tokens=12, batch_size=32)
    assert by_eight == one_by_one
    assert list(reversed(by_32_reversed)) == one_by_one
    assert len(set(one_by_one)) > 1                                 # the model does produce different text


def test_another_seed_changes_sampled_completions(generator):
    batch = requests(16)
    a = generator.generate(batch, SamplingSettings(temperature=1.0, seed=1), max_new_tokens=12, batch_size=16)
    b = generator.generate(batch, SamplingSettings(temperature=1.0, seed=2), max_new_tokens=12, batch_size=16)
    assert a != b


def test_rows_stop_at_their_own_stop_token(generator):
    eos = generator.tokenizer.eos_token_id
    handle = generator.model.lm_head.register_forward_hook(
        lambda module, args, out: out.index_fill(-1, torch.tensor([eos]), 1e4))
    try:
        completions = generator.generate(requests(4), SamplingSettings(), max_new_tokens=12, batch_size=4)
    finally:
        handle.remove()
    assert completions == ["", "", "", ""]


def test_out_of_memory_halves_the_batch_and_continues(generator, monkeypatch):
    calls = []
    real = generator._generate_batch

    def flaky(batch, settings, max_new_tokens):
        calls.append(len(batch))
        if len(batch) > 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(batch, settings, max_new_tokens)

    monkeypatch.setattr(generator, "_generate_batch", flaky)
    batch = requests(6)
    got = generator.generate(batch, SamplingSettings(), max_new_tokens=6, batch_size=8)
    assert calls == [6, 4, 2, 2, 2]
    monkeypatch.undo()
    assert got == generator.generate(batch, SamplingSettings(), max_new_tokens=6, batch_size=8)


def test_top_p_keeps_the_top_token_and_the_crossing_token():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept = filtered_probabilities(logits, 1.0, 0.7, 0) > 0
    assert kept.tolist() == [[True, True, False, False]]
    kept = filtered_probabilities(logits, 1.0, 0.1, 0) > 0
    assert kept.tolist() == [[True, False, False, False]]


def test_sample_seed_is_stable():
    assert sample_seed(0, "a") == sample_seed(0, "a") != sample_seed(1, "a")


@pytest.mark.parametrize("top_p", [0.05, 0.5, 0.9, 0.95, 0.999999])
@pytest.mark.parametrize("levels", [3, 40, None])        # few distinct values: ties across the cut
def test_top_p_from_sorted_values_removes_what_transformers_warper_removes(top_p, levels, monkeypatch):
    from transformers import TopPLogitsWarper

    from infill.generation.sampling import top_p_removed
    from tests.tie_logits import tied_logits
    scores = tied_logits(levels)
    scores[2, ::3] = float("-inf")                           # top-k's filler
    scores[3, :500] = scores[3].min()                        # ties among the lowest values only
    removed = TopPLogitsWarper(top_p)(torch.zeros((64, 1), dtype=torch.long), scores.clone()) == float("-inf")
    indexed_sorts = []
    sort = torch.sort
    monkeypatch.setattr(torch, "sort", lambda *a, **k: indexed_sorts.append(1) or sort(*a, **k))
    assert torch.equal(top_p_removed(scores, top_p), removed)                 # a batch
    for row in range(len(scores)):                                            # and every row alone
        indexed_sorts.clear()
        assert torch.equal(top_p_removed(scores[row:row + 1], top_p), removed[row:row + 1])
        assert indexed_sorts == [] or row < 2 or levels, "only a tie across the cut takes torch's indexed sort"
