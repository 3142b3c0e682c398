"""The exact diffusion sampler vs the straightforward reference (tests/diffusion_reference.py), same run.

HumanEval-Infill single-line canvases, 64 steps, oracle length, p2 (the published setting), temperature 0.6,
top-p 0.95. Two models: the shipped tiny diffusion model, and a random-weight model of the real Open-dCoder size
(Qwen2.5-Coder-0.5B architecture, the real Qwen2.5 tokenizer with Open-dLLM's `<M>` mask). Prints samples/s of
both, the ratio, and model forwards per sample, and checks both gave the same completions.

    .venv/bin/python scripts/bench_diffusion.py [--samples 16] [--real-size-samples 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(name, model, tokenizer, samples, batch_size):
    from infill.generation.diffusion import DiffusionInfiller, DiffusionRequest, DiffusionSettings
    from tests.diffusion_reference import reference_infill

    settings = DiffusionSettings(steps=64, temperature=0.6, top_p=0.95, alg="p2", seed=0)
    requests = [DiffusionRequest(s.sample_id, s.prefix, s.suffix,
                                 len(tokenizer.encode(s.canonical, add_special_tokens=False)))   # oracle length
                for s in samples]
    infiller = DiffusionInfiller(model, tokenizer)
    infiller.infill(requests[:1], settings, 1)                                     # warm-up
    infiller.forwards = 0
    started = time.perf_counter()
    fast = infiller.infill(requests, settings, batch_size)
    fast_s = time.perf_counter() - started
    started = time.perf_counter()
    slow = [reference_infill(model, tokenizer, r.prefix, r.suffix, r.length, settings, r.sample_id)
            for r in requests]
    slow_s = time.perf_counter() - started
    n = len(requests)
    print(f"{name}: {n} samples, mean oracle length {sum(r.length for r in requests) / n:.1f} tokens")
    print(f"  reference: {slow_s:.2f} s, {n / slow_s:.3f} samples/s, 64 model forwards per sample")
    print(f"  exact sampler (batch {batch_size}): {fast_s:.2f} s, {n / fast_s:.3f} samples/s, "
          f"{infiller.forwards / n:.1f} model forwards per sample")
    print(f"  ratio: {slow_s / fast_s:.2f}x; identical completions: {fast == slow}")
    if fast != slow:
        raise SystemExit(f"{name}: the exact sampler's completions differ from the reference's")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--real-size-samples", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    from infill.benchmarks import load_benchmark
    from infill.generation.loading import load_model
    from infill.models.registry import MODELS

    samples = load_benchmark("humaneval-single-line").samples
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    tiny = load_model(MODELS["tiny-qwen2-diffusion"])
    measure("tiny-qwen2-diffusion", tiny.model, tiny.tokenizer, samples[: args.samples], args.batch_size)
    if args.real_size_samples:
        tokenizer = AutoTokenizer.from_pretrained(ROOT / "tests" / "data" / "qwen2.5-coder-tokenizer")
        tokenizer.add_special_tokens({"mask_token": "<M>"})
        config = Qwen2Config(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                             num_attention_heads=14, num_key_value_heads=2, rope_theta=1e6, rms_norm_eps=1e-6,
                             tie_word_embeddings=True)
        torch.manual_seed(0)
        model = Qwen2ForCausalLM(config).eval()
        measure("random-weight Open-dCoder-size (494M)", model, tokenizer, samples[: args.real_size_samples],
                args.batch_size)


if __name__ == "__main__":
    main()
