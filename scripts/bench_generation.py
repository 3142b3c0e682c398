"""Generation engine vs the per-sample-test naive design, on the shipped tiny AR model, in the same run.

The engine generates a benchmark's samples in length-sorted cross-prompt batches; the naive design (one pytest
test generating its own sample) makes one call per sample. Prints samples/s of both and the ratio, and checks
that both produced the same completions (seeded per sample, so batching must not change them).

    .venv/bin/python scripts/bench_generation.py [--samples 64] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    args = parser.parse_args()

    import torch

    from infill.benchmarks import load_benchmark
    from infill.generation.ar import ARFimGenerator, Request
    from infill.generation.loading import load_model
    from infill.generation.sampling import SamplingSettings
    from infill.models.registry import MODELS
    from infill.models.prompt_formats import QWEN

    loaded = load_model(MODELS["tiny-qwen2-fim"])
    generator = ARFimGenerator(loaded.model, loaded.tokenizer, QWEN, stop_at_newline=True)
    samples = load_benchmark("humaneval-single-line").samples[: args.samples]
    requests = [Request(s.sample_id, s.prefix, s.suffix) for s in samples]
    settings = SamplingSettings(temperature=0.6, top_p=0.95, seed=0)
    generator.generate(requests[:2], settings, 4, 2)                      # warm-up outside the timing

    started = time.perf_counter()
    naive = [generator.generate([r], settings, args.max_new_tokens, 1)[0] for r in requests]
    naive_s = time.perf_counter() - started

    started = time.perf_counter()
    ordered = sorted(requests, key=lambda r: -generator.prompt_length(r.prefix, r.suffix))
    batched = dict(zip([r.sample_id for r in ordered],
                       generator.generate(ordered, settings, args.max_new_tokens, args.batch_size)))
    engine_s = time.perf_counter() - started

    same = [batched[r.sample_id] for r in requests] == naive
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {loaded.device}, "
          f"{len(requests)} samples, max_new_tokens {args.max_new_tokens}")
    print(f"naive, one sample per call: {naive_s:.2f} s, {len(requests) / naive_s:.1f} samples/s")
    print(f"engine, length-sorted batches of {args.batch_size}: {engine_s:.2f} s, "
          f"{len(requests) / engine_s:.1f} samples/s")
    print(f"ratio: {naive_s / engine_s:.2f}x (engine vs naive); identical completions: {same}")
    if not same:
        raise SystemExit("the engine's completions differ from the one-by-one ones: batching changed results")


if __name__ == "__main__":
    main()
