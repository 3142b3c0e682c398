"""The real-model path without real weights: the full-size Qwen2.5-Coder-0.5B architecture with random weights
and the real tokenizer goes through the same generator and scorer code as the real model would."""

from pathlib import Path

import pytest

QWEN_TOKENIZER = Path(__file__).parent / "data" / "qwen2.5-coder-tokenizer"


@pytest.mark.slow
def test_full_size_qwen_architecture_generates_and_scores_on_cpu(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, Qwen2Config

    from infill.generation.ar import ARFimGenerator, Request
    from infill.generation.loading import load_model
    from infill.generation.sampling import SamplingSettings
    from infill.models.prompt_formats import QWEN
    from infill.models.registry import MODELS
    from infill.scoring.ar import ar_plain_scores

    # Values from shared/models/qwen2.5-coder-0.5b/SOURCES.md (the official config.json is not reachable here).
    config = Qwen2Config(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                         num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
                         rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True, bos_token_id=151643,
                         eos_token_id=151643)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    assert 490e6 < sum(p.numel() for p in model.parameters()) < 500e6        # 494 M, as published
    model.save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(QWEN_TOKENIZER).save_pretrained(tmp_path)
    del model

    loaded = load_model(MODELS["qwen2.5-coder-0.5b"], path_override=str(tmp_path))   # the user's local-dir path
    assert (loaded.device, loaded.dtype, loaded.weights_identity[:7]) == ("cpu", "float32", "sha256:")
    generator = ARFimGenerator(loaded.model, loaded.tokenizer, QWEN)
    assert generator.stop_ids == [151643, 151662, 151663, 151664]
    requests = [Request("a", "def f(x):\n    ", "\n    return y"), Request("b", "import os\n" * 3, "")]
    completions = generator.generate(requests, SamplingSettings(temperature=0.6, top_p=0.95), max_new_tokens=4,
                                     batch_size=2)
    assert len(completions) == 2 and all(isinstance(c, str) for c in completions)
    scores = ar_plain_scores(loaded.model, loaded.tokenizer,
                             [("def f(x):\n    ", "y = x\n", "    return y"), ("a = ", "1", "\n")])
    # random weights: perplexity near the vocabulary size, finite and positive
    assert all(s.tokens > 0 and 1.0 < s.perplexity < 1e7 for s in scores)
