import math

import pytest
import torch

from infill.scoring import ar_plain_scores
from tests.micro_models import micro_qwen2, micro_tokenizer


@pytest.fixture(scope="module")
def model_and_tokenizer():
    tokenizer = micro_tokenizer()
    return micro_qwen2(len(tokenizer), seed=3), tokenizer


def direct_mean_nll(model, tokenizer, prefix, completion, suffix):
    encode = lambda s: tokenizer.encode(s, add_special_tokens=False)
    head, middle, tail = encode(prefix), encode(completion), encode(suffix)
    ids = torch.tensor([head + middle + tail])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0].double()
    logprobs = torch.log_softmax(logits, dim=-1)
    total = sum(-logprobs[t - 1, ids[0, t]].item() for t in range(len(head), len(head) + len(middle)))
    return total / len(middle)


def test_ar_plain_equals_a_direct_computation_from_the_logits(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    triples = [("def add(a, b):\n", "    return a + b\n", "print(add(1, 2))\n"),
               ("x = ", "1", ""), ("for i in range(10):\n", "    print(i)\n", "y = 2\n" * 5)]
    scored = ar_plain_scores(model, tokenizer, triples, batch_size=2, chunk_positions=3)
    for triple, score in zip(triples, scored):
        assert score.mean_nll == pytest.approx(direct_mean_nll(model, tokenizer, *triple), rel=1e-4)
        assert score.perplexity == pytest.approx(math.exp(score.mean_nll))


def test_batching_does_not_change_scores(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    triples = [("a = ", "b", "\n"), ("def f():\n", "    return 1\n", ""), ("if x:\n", "    y = x\n", "else:\n")]
    alone = [ar_plain_scores(model, tokenizer, [t])[0].mean_nll for t in triples]
    together = [s.mean_nll for s in ar_plain_scores(model, tokenizer, triples, batch_size=3)]
    assert together == pytest.approx(alone, rel=1e-5)
