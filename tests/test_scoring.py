import math

import pytest
import torch

from infill.models.prompt_formats import QWEN
from infill.scoring.ar import ar_fim_scores, ar_plain_scores
from infill.scoring.combine import CALIBRATION_VERSION, COMBINE_VERSION, combine, zscores
from infill.scoring.diffusion import diffusion_scores
from infill.scoring.registry import SCORERS
from infill.scoring.scored import Scored
from tests.micro_models import micro_qwen2, micro_tokenizer

TRIPLES = [("def add(a, b):\n", "    return a + b\n", "print(add(1, 2))\n"),
           ("x = ", "1", ""), ("for i in range(10):\n", "    print(i)\n", "y = 2\n" * 5),
           ("", "class A:\n", "    pass\n"), ("if x > 0:\n", "    y = x\n", "else:\n    y = -x\n")]


@pytest.fixture(scope="module")
def tokenizer():
    return micro_tokenizer()


@pytest.fixture(scope="module")
def ar_model(tokenizer):
    return micro_qwen2(len(tokenizer), seed=3)


@pytest.fixture(scope="module")
def diffusion_model(tokenizer):
    return micro_qwen2(len(tokenizer), seed=5, causal=False)


def encode(tokenizer, text):
    return tokenizer.encode(text, add_special_tokens=False, split_special_tokens=True)


def full_logprobs(model, ids, **kwargs):
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids]), **kwargs).logits[0].double()
    return torch.log_softmax(logits, dim=-1)


def direct_plain(model, tokenizer, prefix, completion, suffix):
    head, middle, tail = encode(tokenizer, prefix), encode(tokenizer, completion), encode(tokenizer, suffix)
    ids = head + middle + tail
    logprobs = full_logprobs(model, ids)
    scored = range(max(len(head), 1), len(head) + len(middle))
    return sum(-logprobs[t - 1, ids[t]].item() for t in scored) / len(scored), len(scored)


def direct_fim(model, tokenizer, prefix, completion, suffix):
    prompt = QWEN.encode(tokenizer, prefix, suffix)
    ids = prompt + encode(tokenizer, completion) + [tokenizer.eos_token_id]
    logprobs = full_logprobs(model, ids)
    scored = range(len(prompt), len(ids))
    return sum(-logprobs[t - 1, ids[t]].item() for t in scored) / len(scored), len(scored)


def direct_pll(model, tokenizer, prefix, completion, suffix):
    """For each completion position: mask it, run the whole canvas bidirectionally, shifted logits, log-softmax."""
    head, middle, tail = encode(tokenizer, prefix), encode(tokenizer, completion), encode(tokenizer, suffix)
    canvas = head + middle + tail
    losses = []
    for i in range(max(len(head), 1), len(head) + len(middle)):
        masked = canvas[:i] + [tokenizer.mask_token_id] + canvas[i + 1:]
        logprobs = full_logprobs(model, masked, is_causal=False)
        losses.append(-logprobs[i - 1, canvas[i]].item())          # hidden at i - 1 predicts token i
    return sum(losses) / len(losses), len(losses)


def test_ar_plain_equals_a_direct_computation_from_the_logits(ar_model, tokenizer):
    scored = ar_plain_scores(ar_model, tokenizer, TRIPLES, batch_size=2, chunk_positions=3)
    for triple, score in zip(TRIPLES, scored):
        mean_nll, tokens = direct_plain(ar_model, tokenizer, *triple)
        assert (score.mean_nll, score.tokens) == (pytest.approx(mean_nll, rel=1e-5), tokens)
        assert score.perplexity == pytest.approx(math.exp(score.mean_nll))
    assert scored[3].tokens == len(encode(tokenizer, "class A:\n")) - 1     # empty prefix: first token unpredicted


def test_ar_plain_ignores_the_suffix(ar_model, tokenizer):
    a, b = ar_plain_scores(ar_model, tokenizer, [("x = ", "1", "\n"), ("x = ", "1", "\nprint(x)\n")])
    assert a.mean_nll == pytest.approx(b.mean_nll, rel=1e-6)


def test_ar_fim_equals_a_direct_computation_and_depends_on_the_suffix(ar_model, tokenizer):
    scored = ar_fim_scores(ar_model, tokenizer, TRIPLES, prompt_format=QWEN, batch_size=2, chunk_positions=3)
    for triple, score in zip(TRIPLES, scored):
        mean_nll, tokens = direct_fim(ar_model, tokenizer, *triple)
        assert (score.mean_nll, score.tokens) == (pytest.approx(mean_nll, rel=1e-5), tokens)
        assert score.tokens == len(encode(tokenizer, triple[1])) + 1          # completion + eos
    a, b = ar_fim_scores(ar_model, tokenizer, [("x = ", "1", "\n"), ("x = ", "1", "\nprint(x)\n")], prompt_format=QWEN)
    assert abs(a.mean_nll - b.mean_nll) > 1e-4


def test_diffusion_pll_equals_a_direct_computation(diffusion_model, tokenizer):
    scored = diffusion_scores(diffusion_model, tokenizer, TRIPLES, batch_size=3, chunk_positions=2)
    for triple, score in zip(TRIPLES, scored):
        mean_nll, tokens = direct_pll(diffusion_model, tokenizer, *triple)
        assert (score.mean_nll, score.tokens) == (pytest.approx(mean_nll, rel=1e-5), tokens)
    # bidirectional: the suffix changes the score (a causal model would ignore it)
    a, b = diffusion_scores(diffusion_model, tokenizer, [("x = ", "1", "\n"), ("x = ", "1", "\nprint(x)\n")])
    assert abs(a.mean_nll - b.mean_nll) > 1e-4


def test_diffusion_window_keeps_the_tokens_nearest_the_hole(diffusion_model, tokenizer):
    prefix, completion, suffix = "a = 1\nb = 2\nc = 3\n", "d = 4\n", "e = 5\nf = 6\n"
    head, tail = encode(tokenizer, prefix), encode(tokenizer, suffix)
    windowed = diffusion_scores(diffusion_model, tokenizer, [(prefix, completion, suffix)], window=(3, 2))[0]
    # the same canvas spelled out as token ids, decoded back to pieces that re-encode to exactly those ids
    near_prefix, near_suffix = tokenizer.decode(head[-3:]), tokenizer.decode(tail[:2])
    assert encode(tokenizer, near_prefix) == head[-3:] and encode(tokenizer, near_suffix) == tail[:2]
    mean_nll, tokens = direct_pll(diffusion_model, tokenizer, near_prefix, completion, near_suffix)
    assert (windowed.mean_nll, windowed.tokens) == (pytest.approx(mean_nll, rel=1e-5), tokens)


def test_diffusion_needs_a_mask_token(diffusion_model, tokenizer):
    from transformers import PreTrainedTokenizerFast
    plain = PreTrainedTokenizerFast(tokenizer_object=tokenizer.backend_tokenizer, eos_token="<|endoftext|>")
    with pytest.raises(ValueError, match="no mask token"):
        diffusion_scores(diffusion_model, plain, [("x = ", "1", "\n")])


@pytest.mark.parametrize("scorer", ["ar_plain", "ar_fim", "diffusion"])
def test_batching_does_not_change_scores(ar_model, diffusion_model, tokenizer, scorer):
    def run(batch_size):
        if scorer == "ar_plain":
            return ar_plain_scores(ar_model, tokenizer, TRIPLES, batch_size=batch_size)
        if scorer == "ar_fim":
            return ar_fim_scores(ar_model, tokenizer, TRIPLES, prompt_format=QWEN, batch_size=batch_size)
        return diffusion_scores(diffusion_model, tokenizer, TRIPLES, batch_size=batch_size)
    alone, together = run(1), run(8)
    assert [s.tokens for s in alone] == [s.tokens for s in together]
    assert [s.mean_nll for s in together] == pytest.approx([s.mean_nll for s in alone], abs=1e-5)


def test_empty_completion(ar_model, diffusion_model, tokenizer):
    triple = [("x = ", "", "\n")]
    assert ar_plain_scores(ar_model, tokenizer, triple)[0] == Scored(0.0, 0)
    assert diffusion_scores(diffusion_model, tokenizer, triple)[0] == Scored(0.0, 0)
    assert math.isinf(Scored(0.0, 0).perplexity)
    fim = ar_fim_scores(ar_model, tokenizer, triple, prompt_format=QWEN)[0]          # the eos alone: "nothing goes here"
    mean_nll, tokens = direct_fim(ar_model, tokenizer, *triple[0])
    assert (fim.mean_nll, fim.tokens) == (pytest.approx(mean_nll, rel=1e-5), 1)
    assert math.isfinite(fim.perplexity)


def test_registry():
    assert {n: (s.version, s.backend) for n, s in SCORERS.items()} == {
        "ar_plain": ("ar-plain-v1", "ar-fim"), "ar_fim": ("ar-fim-v1", "ar-fim"),
        "diffusion": ("diffusion-pll-v1", "diffusion")}
    assert (COMBINE_VERSION, CALIBRATION_VERSION) == ("combine-v1", "zscore-v1")


def test_combine():
    inf = math.inf
    assert combine([4.0, 2.0, 8.0], "min") == 2.0
    assert combine([4.0, 2.0], "mean") == 3.0
    assert combine([4.0, 4.0], "harmonic") == pytest.approx(4.0)
    assert combine([2.0, 6.0], "harmonic") == pytest.approx(3.0)
    assert combine([inf, 5.0], "min") == 5.0                          # inf ignored unless all inf
    assert combine([inf, 5.0], "mean") == inf
    assert combine([inf, 5.0], "harmonic") == pytest.approx(10.0)     # 2 / (0 + 1/5): raised, still finite
    for how in ("min", "mean", "harmonic"):
        assert combine([inf, inf], how) == inf
        assert combine([7.0], how) == pytest.approx(7.0)
    with pytest.raises(ValueError, match="unknown combine rule"):
        combine([1.0], "max")
    with pytest.raises(ValueError):
        combine([], "min")
    with pytest.raises(ValueError):
        combine([float("nan")], "min")


def test_zscores():
    inf = math.inf
    z = zscores([1.0, 2.0, 3.0])
    assert z == pytest.approx([-math.sqrt(1.5), 0.0, math.sqrt(1.5)])        # population std sqrt(2/3)
    assert zscores([1.0, inf, 3.0]) == [pytest.approx(-1.0), inf, pytest.approx(1.0)]   # inf excluded, stays inf
    assert zscores([0.1, 0.1, 0.1]) == [0.0, 0.0, 0.0]
    assert zscores([2.0, inf]) == [0.0, inf]
    assert zscores([inf, inf]) == [inf, inf]
    assert zscores([]) == []
    with pytest.raises(ValueError):
        zscores([1.0, float("nan")])
