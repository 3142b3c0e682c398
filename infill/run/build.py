"""Build a run from its configuration: the collaborators first (model pool, grading, live settings, score service),
then the sources over them, then the run. Every name and file is checked here, so bad input stops the run with one
line before anything is generated or graded."""

from __future__ import annotations

from infill.benchmarks import BENCHMARKS, kind_of, load_benchmark, resolve_benchmarks
from infill.config.live_settings import LiveSettings
from infill.config.options import DEFAULT_BENCHMARKS
from infill.config.run_config import RunConfig
from infill.errors import InfillUsageError
from infill.generation.pool import ModelPool
from infill.grading.service import GradingService
from infill.grading.tools import GradingTools
from infill.models.registry import MODELS
from infill.run.progress import Progress, SilentProgress
from infill.run.session import BenchmarkRun
from infill.run.sources import SourceFactory, build_sources
from infill.sources.ensemble.scores import ScoreService, ScoringOptions
from infill.sources.live import LiveSource
from infill.sources.replay.source import ReplaySource



def build_run(config: RunConfig, progress: Progress | None = None, gpu: bool = False) -> BenchmarkRun:
    progress = progress or SilentProgress()
    pool = ModelPool("sequential" if config.sequential_models else "together", config.paths, config.dtype)
    settings = LiveSettings.of(config.profile, config.overrides)
    scores = ScoreService(pool, MODELS, settings, ScoringOptions(
        config.cache_dir, config.cache_enabled, context_lines=config.profile.score_context_lines), progress)
    sources, notes = build_sources(SourceFactory(config, pool, settings, progress), scores)
    benchmarks = list(config.benchmarks or default_benchmarks(sources, config.keyword_benchmarks))
    notes += check_replays_cover(sources, benchmarks)
    for benchmark in benchmarks:    # a damaged data file stops the run here, not as a collection error
        load_benchmark(benchmark)
    check_live_settings(sources, benchmarks, settings)
    verdict_dir = config.cache_dir if config.cache_enabled else None   # verdicts are kept beside generations
    grading = GradingService(GradingTools(config.sandbox, config.em_rule, verdict_dir), benchmarks)
    if config.sandbox.isolation == "bwrap" and any(kind_of(b).executes_programs for b in benchmarks):
        check_bubblewrap(grading)
    return BenchmarkRun(sources, benchmarks, config.benchmarks is not None, grading, pool, config.limit,
                        config.shard, notes + run_notes(config, sources, pool, gpu), config.profile.name, progress)


def default_benchmarks(sources: dict, named_by_keyword: tuple[str, ...] = ()) -> list[str]:
    """What the selected models have: the benchmarks a replay covers, and the defaults (with those -k names) for
    any other source."""
    covered = {b for s in sources.values() if isinstance(s, ReplaySource) for b in s.files}
    if any(not isinstance(s, ReplaySource) for s in sources.values()):
        covered.update(resolve_benchmarks(DEFAULT_BENCHMARKS), named_by_keyword)
    benchmarks = [b for b in BENCHMARKS if b in covered]
    if not benchmarks:
        raise InfillUsageError("the selected models cover no benchmark: name some with --infill-benchmarks")
    return benchmarks


def check_replays_cover(sources: dict, benchmarks: list[str]) -> list[str]:
    """A replayed model must hold generations of a selected benchmark (its ids belong to another: one line)."""
    notes = []
    for model, source in sources.items():
        if not isinstance(source, ReplaySource):
            continue
        held = [b for b in source.files if b in benchmarks]
        if not held:
            raise InfillUsageError(f"--infill-replay {model}: its files hold {', '.join(source.files)} generations, "
                                   f"and the run selects {', '.join(benchmarks)}: select the benchmark the file "
                                   f"holds (--infill-benchmarks) or give that benchmark's generations")
        others = [b for b in benchmarks if b not in held]
        if others:
            notes.append(f"{model} is not graded on {', '.join(others)}: its files hold no generations of it.")
    return notes


def check_live_settings(sources: dict, benchmarks: list[str], settings: LiveSettings) -> None:
    """Every benchmark a live model runs on has settings for the profile (one line otherwise)."""
    backends = {s.spec.backend for s in sources.values() if isinstance(s, LiveSource)}
    for benchmark in benchmarks:
        for backend in backends:
            settings.for_benchmark(benchmark, backend)


def check_bubblewrap(grading: GradingService) -> None:
    try:                        # the sandbox probe, now rather than as an error in every test
        grading.tools.pool
    except RuntimeError as exc:
        raise InfillUsageError(f"--infill-isolation bwrap: {exc}: install bubblewrap (apt-get install "
                               f"bubblewrap) or pass --infill-isolation auto to run programs with rlimits "
                               f"only (the report then says what that cannot isolate)") from None


def run_notes(config: RunConfig, sources: dict, pool: ModelPool, gpu: bool) -> list[str]:
    """What the top of the report says about how this run was made."""
    live = [s for s in sources.values() if isinstance(s, LiveSource)]
    notes = []
    if config.explicit_length_policies and not any(s.spec.backend == "diffusion" for s in live):
        notes.append("--infill-length-policies has no effect: no diffusion model runs in this run.")
    if pool.mode == "sequential":
        notes.append("Sequential models: one model in memory at a time (generate, free, load the next; ensemble "
                     "scoring after its members).")
    if live and not gpu:
        notes.append(f"No GPU: live models ran on the CPU (profile `{config.profile.name}`).")
    oracle = [s.model for s in live if s.length_policy and s.length_policy.uses_ground_truth]
    if oracle:
        notes.append(f"{', '.join(oracle)}: ORACLE length (the canonical middle's token count, the published "
                     f"setting) leaks the answer's length; compare with the non-oracle rows.")
    smoke = [s.model for s in live if s.spec.smoke]
    if smoke:
        notes.append(f"{', '.join(smoke)}: shipped tiny SMOKE models (a few million parameters trained for "
                     f"minutes on the Python stdlib). Their scores are near zero by design and say nothing about "
                     f"the real models; they prove the pipeline runs end to end.")
    return notes
