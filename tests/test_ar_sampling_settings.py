"""The AR engine honours the sampling settings `model.generate` would take from a model's generation_config.json
(top_k, top_p, repetition_penalty), an explicit override wins, and its sampled tokens equal a plain one-sample
implementation of transformers' processors fed by the same seeded stream."""

import json
import shutil
from pathlib import Path

import pytest
import torch

from infill.generation.ar import ARFimGenerator, Request
from infill.generation.sampling import SamplingSettings, row_generators
from infill.generation.sampling_config import MODEL_FILE, OVERRIDE, read_generation_config, resolve_sampling
from infill.models.prompt_formats import QWEN

TINY_AR = Path(__file__).resolve().parents[1] / "infill" / "models" / "tiny" / "tiny-qwen2-fim"
RECORDED_CALL = {"do_sample": True, "temperature": 0.8}
PREFIXES = ["def add(a, b):\n    ", "for i in range(", "class A:\n    def ", "if x > 0:\n    y = ",
            "import os\n\n\ndef walk(root):\n    for ", "def f():\n    return ", "print(", "x = [1, 2, 3]\ny = "]
REQUESTS = [Request(f"t/{i}", prefix, "\n    return y\n") for i, prefix in enumerate(PREFIXES)]
MAX_NEW = 16


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tiny-qwen2-fim-sampling")
    shutil.copytree(TINY_AR, directory, dirs_exist_ok=True)
    config = json.loads((directory / "generation_config.json").read_text())
    config.update(top_k=12, top_p=0.9, repetition_penalty=1.3)
    (directory / "generation_config.json").write_text(json.dumps(config))
    return directory


@pytest.fixture(scope="module")
def engine(model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    return ARFimGenerator(model, AutoTokenizer.from_pretrained(model_dir), QWEN)


@torch.no_grad()
def plain_generate(engine, request, settings):
    """One sample, a full forward per token, transformers' processors in their order, the row's own stream."""
    ids = QWEN.encode(engine.tokenizer, request.prefix, request.suffix)
    stream = row_generators(settings.seed, [request.sample_id])[0]
    generated = []
    for _ in range(MAX_NEW):
        scores = engine.model(input_ids=torch.tensor([ids])).logits[0, -1].float()
        for token in set(ids):                                  # RepetitionPenaltyLogitsProcessor
            if settings.repetition_penalty != 1.0 and token < len(scores):
                value = scores[token]
                scores[token] = value * settings.repetition_penalty if value < 0 else \
                    value / settings.repetition_penalty
        if settings.temperature > 0:
            scores = scores / settings.temperature                                   # TemperatureLogitsWarper
            if settings.top_k:                                                       # TopKLogitsWarper
                scores[scores < torch.topk(scores, settings.top_k).values[-1]] = float("-inf")
            if settings.top_p < 1:                                                   # TopPLogitsWarper
                ascending, order = torch.sort(scores)
                remove = ascending.softmax(dim=-1).cumsum(dim=-1) <= 1 - settings.top_p
                remove[-1] = False
                scores[order[remove]] = float("-inf")
            cumulative = torch.softmax(scores, dim=-1).cumsum(dim=-1)
            cumulative[-1] = 1.0 + 1e-6
            token = int((cumulative < torch.rand((), generator=stream)).sum())      # inverse CDF, one draw
        else:
            token = int(scores.argmax())
        ids.append(token)
        if token in engine.stop_ids:
            break
        generated.append(token)
    return engine.tokenizer.decode(generated, skip_special_tokens=True)


def run_both(engine, settings):
    batched = engine.generate(REQUESTS, settings, MAX_NEW, batch_size=8)
    assert batched == [plain_generate(engine, request, settings) for request in REQUESTS]
    return batched


def test_the_model_files_top_k_top_p_and_penalty_are_resolved_and_honoured(engine, model_dir):
    resolved = resolve_sampling(RECORDED_CALL, generation_config=read_generation_config(model_dir))
    assert (resolved.top_k, resolved.top_p, resolved.repetition_penalty) == (12, 0.9, 1.3)
    assert {resolved.origins[name] for name in ("top_k", "top_p", "repetition_penalty")} == {MODEL_FILE}
    honoured = run_both(engine, SamplingSettings(**resolved.engine_settings(), seed=4))
    ignored = engine.generate(REQUESTS, SamplingSettings(temperature=0.8, seed=4), MAX_NEW, batch_size=8)
    assert honoured != ignored                                  # the file's settings change the tokens
    assert len(set(honoured)) > 4


def test_an_explicit_override_wins_over_the_model_file(engine, model_dir):
    file_settings = resolve_sampling(RECORDED_CALL, generation_config=read_generation_config(model_dir))
    resolved = resolve_sampling(RECORDED_CALL, {"top_k": 3, "repetition_penalty": 1.0},
                                read_generation_config(model_dir))
    assert (resolved.top_k, resolved.top_p, resolved.repetition_penalty) == (3, 0.9, 1.0)
    assert resolved.origins["top_k"] == resolved.origins["repetition_penalty"] == OVERRIDE
    overridden = run_both(engine, SamplingSettings(**resolved.engine_settings(), seed=4))
    assert overridden != engine.generate(REQUESTS, SamplingSettings(**file_settings.engine_settings(), seed=4),
                                         MAX_NEW, batch_size=8)


def test_greedy_applies_the_repetition_penalty_as_generate_does(engine, model_dir):
    resolved = resolve_sampling({"do_sample": False}, generation_config=read_generation_config(model_dir))
    penalised = run_both(engine, SamplingSettings(**resolved.engine_settings()))
    assert penalised != engine.generate(REQUESTS, SamplingSettings(), MAX_NEW, batch_size=8)


def test_batch_composition_does_not_change_penalised_samples(engine):
    settings = SamplingSettings(temperature=0.8, top_k=12, top_p=0.9, repetition_penalty=1.3, seed=9)
    together = engine.generate(REQUESTS, settings, MAX_NEW, batch_size=8)
    assert engine.generate(REQUESTS[::-1], settings, MAX_NEW, batch_size=3)[::-1] == together
