"""Per-batch timings (pytest-benchmark) of each stage of a run: generation with the AR backend and the diffusion
backend, perplexity scoring, and grading. Run with `--infill-timings` (skipped otherwise).

Every timing works on one fixed batch: the first BATCH samples of humaneval-single-line and santacoder-fim-py,
with the run's profile settings (`--infill-profile`, plus `--infill-*` overrides). The models timed are the live
registry models the run selected (`--infill-models`), else the profile's models: the shipped tiny models on a
CPU, the paper models on a GPU runner (`--infill-model-path` and `--infill-dtype` apply, as for generation).
Each round is a complete batch; `warmup_rounds=1` keeps the first call (lazy kernels, thread pools) out of the
figures, and on CUDA the target synchronises before it returns, since pytest-benchmark stops its clock
without waiting for the GPU. `benchmark.extra_info` records what the figure depends on.
"""

from __future__ import annotations

import os

import pytest

from infill.benchmarks import load_benchmark
from infill.benchmarks.humaneval import program_of
from infill.config.live_settings import LiveSettings
from infill.generation.diffusion_backend import diffusion_prefix
from infill.grading.execution import PASSED, SandboxPool
from infill.grading.match import ExactMatchGrader
from infill.models.registry import MODELS
from infill.pytest_plugin.options import RUN
from infill.reporting.timings import throughput
from infill.scoring.registry import SCORERS
from infill.sources.live import LiveSource

pytestmark = pytest.mark.timing

BATCH = 16
TIMED_BENCHMARKS = ("humaneval-single-line", "santacoder-fim-py")
ROUNDS = 5                    # a batch takes ~0.1-1 s with the tiny models on 2 cores: 5 rounds keep the set short
# Exact match of a batch takes about a millisecond: each round runs it 10 times (the figure is per batch), so that
# a scheduling blip on a shared CPU does not decide a round.
EXACT_MATCH_ROUNDS, EXACT_MATCH_ITERATIONS = 20, 10


# ---- what is timed --------------------------------------------------------------------------------------------

def timed_models(config, backend: str) -> list[str]:
    """Registry models of this backend: those the run selected, else the profile's (without --infill-timings the
    cases are skipped: the run is not built just to name them)."""
    holder = config.stash[RUN]
    run = holder.get_while_collecting() if config.getoption("--infill-timings") else None
    live = [source.spec.name for source in run.sources.values() if isinstance(source, LiveSource)] if run else []
    names = list(dict.fromkeys(live)) or list(holder.run_config().profile.models)
    return [name for name in names if MODELS[name].backend == backend]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    config = metafunc.config
    for fixture, backend in (("ar_case", "ar-fim"), ("diffusion_case", "diffusion")):
        if fixture in metafunc.fixturenames:
            metafunc.parametrize(fixture, [pytest.param((m, b), id=f"{m}-{b}") for m in timed_models(config, backend)
                                           for b in TIMED_BENCHMARKS])
    if "scoring_case" in metafunc.fixturenames:
        metafunc.parametrize("scoring_case", [
            pytest.param((name, m, b), id=f"{name}-{m}-{b}")
            for name, scorer in SCORERS.items() for m in timed_models(config, scorer.backend)
            for b in TIMED_BENCHMARKS])


# ---- shared pieces --------------------------------------------------------------------------------------------

def first_samples(benchmark: str):
    return load_benchmark(benchmark).samples[:BATCH]


def run_settings(config, benchmark: str, backend: str):
    """The profile's settings for this benchmark with the run's --infill-* overrides (as generation uses)."""
    parsed = config.stash[RUN].run_config()
    return LiveSettings.of(parsed.profile, parsed.overrides).for_benchmark(benchmark, backend)


def synchronized(target, device: str):
    """pytest-benchmark reads perf_counter when the target returns: on CUDA wait for the queued kernels first."""
    if not str(device).startswith("cuda"):
        return target

    def run():
        import torch
        result = target()
        torch.cuda.synchronize()
        return result
    return run


def model_info(loaded) -> dict:
    return {"model": loaded.spec.name, "device": loaded.device, "dtype": loaded.dtype,
            "attn_implementation": getattr(loaded.model.config, "_attn_implementation", None)}


def median_of(benchmark) -> float | None:
    """The measured median (None under --benchmark-disable, when nothing is timed)."""
    return benchmark.stats.stats.median if benchmark.stats else None


class RowsPerForward:
    """Counts generated tokens exactly: every forward of the AR loop emits one token per row in its batch."""

    def __init__(self, model):
        self.rows = 0
        self.handle = model.register_forward_pre_hook(self.count, with_kwargs=True)

    def count(self, module, args, kwargs) -> None:
        self.rows += kwargs["input_ids"].shape[0]

    def reset(self) -> None:
        self.rows = 0

    def close(self) -> None:
        self.handle.remove()


# ---- generation -----------------------------------------------------------------------------------------------

@pytest.mark.benchmark(group="generation")
def test_ar_generation(benchmark, request, infill_run, ar_case):
    from infill.generation.ar import ARFimGenerator, Request
    from infill.generation.postprocess import POSTPROCESS
    from infill.generation.sampling import SamplingSettings
    from infill.models.prompt_formats import PROMPT_FORMATS

    model, bench = ar_case
    settings = run_settings(request.config, bench, "ar-fim")
    loaded = infill_run.pool.get(MODELS[model])
    generator = ARFimGenerator(loaded.model, loaded.tokenizer, PROMPT_FORMATS[loaded.spec.prompt_format],
                               stop_at_newline=POSTPROCESS[settings.postprocess].stops_at_newline)
    sampling = SamplingSettings(settings.temperature, settings.top_p, settings.top_k, settings.seed)
    samples = first_samples(bench)
    requests = [Request(s.sample_id, s.prefix, s.suffix) for s in samples]
    counter = RowsPerForward(loaded.model)
    try:
        # Each sample has its own seeded stream, so every round generates the same tokens; the counter is reset
        # before each round and read after the last one.
        completions = benchmark.pedantic(
            synchronized(lambda: generator.generate(requests, sampling, settings.max_new_tokens, BATCH),
                         loaded.device),
            setup=counter.reset, rounds=ROUNDS, warmup_rounds=1)
        tokens = counter.rows
    finally:
        counter.close()
    benchmark.extra_info.update(
        model_info(loaded), backend="ar-fim", benchmark=bench, batch_size=len(samples), samples=len(samples),
        max_new_tokens=settings.max_new_tokens, stop_at_newline=bool(generator.newline_ids),
        temperature=settings.temperature, tokens=tokens, **throughput(median_of(benchmark), len(samples), tokens))
    assert len(completions) == len(samples)


@pytest.mark.benchmark(group="generation")
def test_diffusion_generation(benchmark, request, infill_run, diffusion_case):
    from infill.generation.diffusion import DiffusionInfiller, DiffusionRequest

    model, bench = diffusion_case
    settings = run_settings(request.config, bench, "diffusion")
    loaded = infill_run.pool.get(MODELS[model])
    infiller = DiffusionInfiller(loaded.model, loaded.tokenizer)
    sampler = settings.sampler()
    samples = first_samples(bench)
    encode = lambda text: loaded.tokenizer.encode(text, add_special_tokens=False, split_special_tokens=True)
    # Oracle length (the canonical middle's token count): one infill per sample, the published setting.
    requests = [DiffusionRequest(s.sample_id, diffusion_prefix(s), s.suffix, len(encode(s.canonical)))
                for s in samples]
    canvases = [len(infiller.canvas.encode(loaded.tokenizer, r.prefix, r.suffix, r.length, sampler.window)[0])
                for r in requests]

    def reset() -> None:
        infiller.forwards = 0

    texts = benchmark.pedantic(synchronized(lambda: infiller.infill(requests, sampler, BATCH), loaded.device),
                               setup=reset, rounds=ROUNDS, warmup_rounds=1)
    tokens = sum(r.length for r in requests)           # every masked position is decoded
    benchmark.extra_info.update(
        model_info(loaded), backend="diffusion", benchmark=bench, batch_size=len(samples), samples=len(samples),
        steps=sampler.steps, alg=sampler.alg, length_policy="oracle", window=list(sampler.window or []) or None,
        infill_tokens_mean=round(tokens / len(samples), 2), canvas_tokens_max=max(canvases),
        canvas_tokens_mean=round(sum(canvases) / len(canvases), 1), model_rows_run=infiller.forwards,
        temperature=sampler.temperature, tokens=tokens, **throughput(median_of(benchmark), len(samples), tokens))
    assert len(texts) == len(samples)


# ---- perplexity scoring ---------------------------------------------------------------------------------------

@pytest.mark.benchmark(group="scoring")
def test_perplexity_scoring(benchmark, request, infill_run, scoring_case):
    scorer, model, bench = scoring_case
    loaded = infill_run.pool.get(MODELS[model])
    diffusion = MODELS[model].backend == "diffusion"
    window = run_settings(request.config, bench, "diffusion").window if diffusion else None
    samples = first_samples(bench)
    # The canonical middle stands in for a candidate: a fixed, realistic completion length.
    triples = [(diffusion_prefix(s) if diffusion else s.prefix, s.canonical, s.suffix) for s in samples]
    from infill.models.prompt_formats import PROMPT_FORMATS
    prompt_format = PROMPT_FORMATS.get(loaded.spec.prompt_format)
    # the ensemble's call (infill.sources.ensemble.scores): the registry entry, with the scoring batch it uses
    score = lambda: SCORERS[scorer](loaded.model, loaded.tokenizer, triples, batch_size=BATCH,
                                    prompt_format=prompt_format, window=window)
    scored = benchmark.pedantic(synchronized(score, loaded.device), rounds=ROUNDS, warmup_rounds=1)
    tokens = sum(s.tokens for s in scored)             # completion tokens scored (ar_fim: plus the end token)
    benchmark.extra_info.update(
        model_info(loaded), backend=MODELS[model].backend, scorer=scorer, scorer_version=SCORERS[scorer].version,
        benchmark=bench, batch_size=len(samples), samples=len(samples), window=list(window) if window else None,
        tokens=tokens, **throughput(median_of(benchmark), len(samples), tokens))
    assert len(scored) == len(samples)


# ---- grading --------------------------------------------------------------------------------------------------

@pytest.mark.benchmark(group="grading")
def test_grading_execution(benchmark, infill_run):
    """Sandboxed execution of a batch of HumanEval-Infill programs (canonical completions: all must pass)."""
    samples = first_samples("humaneval-single-line")
    programs = [program_of(s, s.canonical) for s in samples]
    config = infill_run.grading.tools.sandbox_config
    with SandboxPool(config) as pool:
        # The warm-up round starts the (lazy) sandbox workers, so the rounds time a warm pool, as in a run.
        results = benchmark.pedantic(lambda: pool.run_many(programs), rounds=ROUNDS, warmup_rounds=1)
        isolation = pool.isolation
    workers = config.workers or os.cpu_count() or 1
    benchmark.extra_info.update(backend="sandbox", benchmark="humaneval-single-line", batch_size=len(samples),
                                samples=len(samples), workers=workers, timeout_s=config.timeout_s,
                                isolation=isolation.split(":")[0], isolation_detail=isolation,
                                **throughput(median_of(benchmark), len(samples)))
    assert [r.status for r in results] == [PASSED] * len(samples)


@pytest.mark.benchmark(group="grading")
def test_grading_exact_match(benchmark, infill_run):
    """Exact match (both rules) and edit similarity over a batch of SantaCoder-FIM samples."""
    samples = first_samples("santacoder-fim-py")
    grader = ExactMatchGrader(infill_run.grading.tools.em_rule)
    verdicts = benchmark.pedantic(lambda: [grader.grade(s, s.canonical) for s in samples],
                                  rounds=EXACT_MATCH_ROUNDS, iterations=EXACT_MATCH_ITERATIONS, warmup_rounds=1)
    benchmark.extra_info.update(backend="exact-match", benchmark="santacoder-fim-py", batch_size=len(samples),
                                samples=len(samples), em_rule=grader.rule.name, iterations=EXACT_MATCH_ITERATIONS,
                                **throughput(median_of(benchmark), len(samples)))
    assert all(v.correct for v in verdicts)
