"""Generation engine vs the per-sample-test naive design, and vs transformers' batched `model.generate`.

1. On the shipped tiny AR model: the engine generates a benchmark's samples in length-sorted cross-prompt batches;
   the naive design (one pytest test generating its own sample) makes one call per sample. Prints samples/s of
   both and the ratio, and checks that both produced the same completions (seeded per sample, so batching must
   not change them).
2. `--vs-generate`: the same greedy workload (same batches, same stop tokens, no newline shortcut) through the
   engine and through `model.generate(do_sample=False)`, on the tiny model and on a random-weight model shaped as
   Qwen2.5-Coder-0.5B (24 layers, hidden 896, vocab 151936) with the real Qwen2.5 tokenizer. Prints both times
   and fails unless every completion is identical.

    .venv/bin/python scripts/bench_generation.py [--samples 64] [--batch-size 32] [--vs-generate[-only]]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

QWEN_TOKENIZER = Path(__file__).resolve().parents[1] / "tests" / "data" / "qwen2.5-coder-tokenizer"


def engine_vs_naive(args) -> None:
    from infill.benchmarks import load_benchmark
    from infill.generation.ar import ARFimGenerator, Request
    from infill.generation.loading import load_model
    from infill.generation.sampling import SamplingSettings
    from infill.models.prompt_formats import QWEN
    from infill.models.registry import MODELS

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
    print(f"device {loaded.device}, {len(requests)} samples, max_new_tokens {args.max_new_tokens}")
    print(f"naive, one sample per call: {naive_s:.2f} s, {len(requests) / naive_s:.1f} samples/s")
    print(f"engine, length-sorted batches of {args.batch_size}: {engine_s:.2f} s, "
          f"{len(requests) / engine_s:.1f} samples/s")
    print(f"ratio: {naive_s / engine_s:.2f}x (engine vs naive); identical completions: {same}")
    if not same:
        raise SystemExit("the engine's completions differ from the one-by-one ones: batching changed results")


def hf_generate(generator, batch, max_new_tokens: int) -> list[str]:
    """transformers' batched greedy `generate` on the engine's left-padded prompts, cut at the same stops."""
    import torch

    prompts = [generator.prompt_format.encode(generator.tokenizer, r.prefix, r.suffix) for r in batch]
    width = max(len(p) for p in prompts)
    input_ids = torch.full((len(prompts), width), generator.pad_id, dtype=torch.long)
    attention = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        input_ids[row, width - len(prompt):] = torch.tensor(prompt)
        attention[row, width - len(prompt):] = 1
    with torch.inference_mode():
        out = generator.model.generate(input_ids=input_ids.to(generator.device),
                                       attention_mask=attention.to(generator.device), do_sample=False,
                                       max_new_tokens=max_new_tokens, eos_token_id=generator.stop_ids,
                                       pad_token_id=generator.pad_id)
    return [generator._decode(row) for row in out[:, width:].tolist()]


def random_qwen_0_5b():
    """Qwen2.5-Coder-0.5B's shape (shared/models/qwen2.5-coder-0.5b/SOURCES.md) with random weights."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, Qwen2Config

    config = Qwen2Config(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                         num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
                         rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True, bos_token_id=151643,
                         eos_token_id=151643)
    torch.manual_seed(0)
    return AutoModelForCausalLM.from_config(config, dtype=torch.float32).eval(), \
        AutoTokenizer.from_pretrained(QWEN_TOKENIZER)


def engine_vs_generate(name: str, model, tokenizer, samples: int, batch_size: int, max_new_tokens: int,
                       rounds: int = 2) -> bool:
    from infill.benchmarks import load_benchmark
    from infill.generation.ar import ARFimGenerator, Request
    from infill.generation.sampling import SamplingSettings
    from infill.models.prompt_formats import QWEN

    generator = ARFimGenerator(model, tokenizer, QWEN)              # no newline shortcut: generate has none
    requests = [Request(s.sample_id, s.prefix, s.suffix)
                for s in load_benchmark("humaneval-single-line").samples[:samples]]
    ordered = sorted(requests, key=lambda r: -generator.prompt_length(r.prefix, r.suffix))
    batches = [ordered[i:i + batch_size] for i in range(0, len(ordered), batch_size)]
    hf_generate(generator, batches[0][:2], 2)                       # warm-up outside the timing
    generator.generate(batches[0][:2], SamplingSettings(), 2, 2)
    engine = lambda: [text for batch in batches
                      for text in generator.generate(batch, SamplingSettings(), max_new_tokens, batch_size)]
    library = lambda: [text for batch in batches for text in hf_generate(generator, batch, max_new_tokens)]
    # Rounds in the order engine, generate, generate, engine, ...: whichever runs first also pays the first touch
    # of the full-size activation and cache memory (slow in a VM), so each side's best round is compared.
    runs = {"engine": [], "generate": []}
    for round_ in range(rounds):
        for side in (("engine", "generate") if round_ % 2 == 0 else ("generate", "engine")):
            runs[side].append(timed(engine if side == "engine" else library))
    ours, engine_s, engine_cpu = min(runs["engine"], key=lambda r: r[1])
    theirs, generate_s, generate_cpu = min(runs["generate"], key=lambda r: r[1])
    if any(r[0] != ours for r in runs["engine"]) or any(r[0] != theirs for r in runs["generate"]):
        raise SystemExit(f"{name}: a side gave other completions in another round")
    same = ours == theirs
    print(f"{name}: {len(ordered)} samples, batches of {batch_size}, greedy, max_new_tokens {max_new_tokens}, best "
          f"of {rounds} rounds each (alternating which goes first): "
          f"engine {engine_s:.2f} s ({engine_cpu:.2f} s CPU), model.generate {generate_s:.2f} s "
          f"({generate_cpu:.2f} s CPU), ratio {generate_s / engine_s:.2f}x wall, {generate_cpu / engine_cpu:.2f}x "
          f"CPU (generate / engine); identical completions: {same}")
    return same


def timed(run):
    """The result, wall seconds and this process's CPU seconds (less disturbed by a busy machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--vs-generate", action="store_true", help="also compare with batched model.generate")
    parser.add_argument("--vs-generate-only", action="store_true", help="only the model.generate comparison")
    parser.add_argument("--real-size-samples", type=int, default=16, help="samples for the 0.5B-shaped model")
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds per side (the best is compared)")
    args = parser.parse_args()

    import torch

    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    if not args.vs_generate_only:
        engine_vs_naive(args)
    if not (args.vs_generate or args.vs_generate_only):
        return
    from infill.generation.loading import load_model
    from infill.models.registry import MODELS

    tiny = load_model(MODELS["tiny-qwen2-fim"])
    same = engine_vs_generate("tiny-qwen2-fim", tiny.model, tiny.tokenizer, args.samples, args.batch_size,
                              args.max_new_tokens, args.rounds)
    model, tokenizer = random_qwen_0_5b()
    same &= engine_vs_generate("random Qwen2.5-0.5B shape", model, tokenizer, args.real_size_samples,
                               min(args.batch_size, 8), min(args.max_new_tokens, 16), args.rounds)
    if not same:
        raise SystemExit("the engine's greedy completions differ from model.generate's")


if __name__ == "__main__":
    main()
