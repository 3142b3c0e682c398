"""One run's configuration, parsed and validated once from the raw option values (command line, then ini, then
defaults: `infill.config.options`). Everything below the pytest plugin reads this frozen object, never pytest or an
option getter. Parsing imports no torch: a usage error answers before torch loads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from infill.benchmarks import resolve_benchmarks
from infill.config.options import DEFAULT_BENCHMARKS, DEFAULT_CACHE_DIR, OPTIONS
from infill.config.profiles import Profile, get_profile
from infill.config.settings import ALGORITHMS
from infill.config.values import choice, number, split_list
from infill.errors import InfillUsageError
from infill.generation.length import LengthPolicy, parse_length_policy
from infill.generation.postprocess import POSTPROCESS
from infill.grading.exact_match import EM_RULES
from infill.grading.execution import SandboxConfig
from infill.run.shard import Shard, parse_shard

DTYPES = ("float32", "bfloat16", "float16")
MAX_WORKERS = 256          # sandbox workers: more only exhausts the machine's processes and memory
# (option, settings field, type, minimum): command-line values that replace the profile's generation settings
OVERRIDES = (("infill_temperature", "temperature", float, 0.0), ("infill_top_p", "top_p", float, 0.0),
             ("infill_top_k", "top_k", int, 0), ("infill_repetition_penalty", "repetition_penalty", float, 0.01),
             ("infill_max_new_tokens", "max_new_tokens", int, 1), ("infill_seed", "seed", int, 0),
             ("infill_batch_size", "batch_size", int, 1), ("infill_steps", "steps", int, 1),
             ("infill_alg_temp", "alg_temp", float, 0.0))


@dataclass(frozen=True)
class ReplayRequest:
    option: str                  # as given, for messages
    model: str
    benchmark: str | None        # MODEL:BENCHMARK=PATH names it; else the file does
    path: Path


@dataclass(frozen=True)
class EnsembleOptions:
    definitions: tuple[str, ...]            # NAME=MEMBER+MEMBER, from --infill-ensemble (the profile's: later)
    scorer: str                             # SCORER:MODEL[+...] (the profile's unless given)
    combine: str
    strategies: tuple[str, ...]


@dataclass(frozen=True)
class RunConfig:
    profile: Profile
    replays: tuple[ReplayRequest, ...] = ()
    models: tuple[str, ...] = ()                 # empty: the default run
    benchmarks: tuple[str, ...] | None = None    # None: what the selected models have
    limit: int | None = None
    shard: Shard | None = None
    em_rule: str = "first_line"
    sandbox: SandboxConfig = SandboxConfig()
    overrides: tuple[tuple[str, object], ...] = ()    # generation settings that replace the profile's
    length_policies: tuple[LengthPolicy, ...] = ()
    dtype: str | None = None
    model_paths: tuple[tuple[str, str], ...] = ()
    cache_dir: Path = Path(DEFAULT_CACHE_DIR)
    cache_enabled: bool = True
    refresh_cache: bool = False
    sequential_models: bool = False
    allow_partial_replay: bool = False
    ensembles: EnsembleOptions | None = None
    report_dir: str | None = None                # as given; the plugin resolves it against where pytest started
    keyword_benchmarks: tuple[str, ...] = ()     # benchmarks -k names (added to the default selection)
    samples: int = 1                             # completions per task for live models
    gates: str | None = None
    timings: bool = False
    explicit_length_policies: bool = False

    @property
    def generation_overrides(self) -> dict:
        return dict(self.overrides)

    @property
    def paths(self) -> dict[str, str]:
        return dict(self.model_paths)


def raw_defaults() -> dict:
    return {option.dest: option.default for option in OPTIONS}


def parse_run_config(raw: Mapping[str, object], gpu: bool = False) -> RunConfig:
    """Validate every option (one-line InfillUsageError for the first bad one) and build the RunConfig. `gpu`:
    whether this machine has one (the default profile is paper with a GPU, tiny without)."""
    get = {**raw_defaults(), **{k: v for k, v in raw.items() if v is not None}}.get
    shard = parse_shard(get("infill_shard"))            # first: a bad value fails before anything else
    replays = tuple(parse_replay(str(value)) for value in get("infill_replay") or [])
    if get("infill_no_cache") and get("infill_refresh_cache"):
        raise InfillUsageError("--infill-no-cache and --infill-refresh-cache contradict each other: the first "
                               "neither reads nor writes the cache, the second regenerates and rewrites it; "
                               "pass one of them")
    dtype = get("infill_dtype") or None
    if dtype is not None:
        choice("infill_dtype", dtype, DTYPES)
    profile = get_profile(str(get("infill_profile") or ("paper" if gpu else "tiny")))
    policies = split_list(get("infill_length_policies"))
    config = RunConfig(
        profile=profile, replays=replays, shard=shard, overrides=tuple(parse_overrides(get).items()),
        model_paths=tuple(parse_model_paths(get("infill_model_path")).items()),
        length_policies=tuple(parse_length_policy(p) for p in policies or profile.length_policies),
        explicit_length_policies=bool(policies), dtype=dtype,
        models=tuple(split_list(get("infill_models"))),
        ensembles=parse_ensemble_options(get, profile),
        cache_dir=Path(str(get("infill_cache_dir") or DEFAULT_CACHE_DIR)).expanduser(),
        cache_enabled=not get("infill_no_cache"), refresh_cache=bool(get("infill_refresh_cache")),
        sequential_models=bool(get("infill_sequential_models")),
        allow_partial_replay=bool(get("infill_allow_partial_replay")),
        report_dir=get("infill_report_dir"), gates=get("infill_gates"), timings=bool(get("infill_timings")),
        samples=number("infill_samples", get("infill_samples") or profile.samples, int, 1))
    check_model_names(config)
    return parse_grading(config, get)


def parse_grading(config: RunConfig, get) -> RunConfig:
    from dataclasses import replace
    spec = get("infill_benchmarks")
    benchmarks = tuple(resolve_benchmarks(str(spec))) if spec else None
    if spec and not benchmarks:
        raise InfillUsageError(f"--infill-benchmarks {spec!r} selects no benchmark")
    limit = get("infill_limit")
    limit = None if limit in (None, "") else number("infill_limit", limit, int, 1)
    em_rule = choice("infill_em_rule", str(get("infill_em_rule")), list(EM_RULES))
    isolation = str(get("infill_isolation"))
    if isolation not in ("auto", "bwrap", "rlimits"):
        raise InfillUsageError(f"--infill-isolation {isolation!r}: choose auto, bwrap or rlimits")
    sandbox = SandboxConfig(timeout_s=number("infill_timeout", get("infill_timeout"), float, 0.1, 3600),
                            workers=number("infill_workers", get("infill_workers"), int, 0, MAX_WORKERS),
                            isolation=isolation)
    return replace(config, benchmarks=benchmarks, limit=limit, em_rule=em_rule, sandbox=sandbox,
                   keyword_benchmarks=keyword_benchmarks(str(get("keyword") or "")))


def keyword_benchmarks(expression: str) -> tuple[str, ...]:
    """Benchmarks a -k expression names, by name or by a group that holds no default benchmark: `-k "safim and
    python"` runs SAFIM without --infill-benchmarks, `-k humaneval` stays on the default single-line benchmark."""
    import re

    from infill.benchmarks import BENCHMARKS, GROUPS
    words, defaults = set(re.findall(r"[\w.-]+", expression.lower())), set(DEFAULT_BENCHMARKS.split(","))
    named = {b for b in BENCHMARKS if b in words}
    for group, members in GROUPS.items():
        if group in words and group != "all" and not defaults & set(members):
            named.update(members)
    return tuple(b for b in BENCHMARKS if b in named)


def parse_replay(value: str) -> ReplayRequest:
    """'MODEL=PATH' or 'MODEL:BENCHMARK=PATH'."""
    from infill.benchmarks import BENCHMARKS
    model, sep, path = value.partition("=")
    if not sep or not model or not path:
        raise InfillUsageError(f"--infill-replay {value!r}: expected MODEL=PATH (or MODEL:BENCHMARK=PATH)")
    model, _, benchmark = model.partition(":")
    if benchmark and benchmark not in BENCHMARKS:
        raise InfillUsageError(f"--infill-replay {value!r}: unknown benchmark {benchmark!r}; "
                               f"choose from {', '.join(BENCHMARKS)}")
    target = Path(path).expanduser()
    if not target.exists():
        raise InfillUsageError(f"--infill-replay {value!r}: {target} does not exist; give a generations file "
                               f"or a folder of them")
    return ReplayRequest(value, model, benchmark or None, target)


def parse_overrides(get) -> dict:
    overrides = {field: number(dest, get(dest), kind, minimum)
                 for dest, field, kind, minimum in OVERRIDES if get(dest) not in (None, "")}
    if overrides.get("top_p", 0.5) > 1.0:
        raise InfillUsageError(f"--infill-top-p {overrides['top_p']}: must be at most 1.0")
    if "temperature" in overrides:          # 0 is greedy: `generate`'s do_sample=False
        overrides["do_sample"] = overrides["temperature"] > 0
    if get("infill_alg"):
        overrides["alg"] = choice("infill_alg", get("infill_alg"), ALGORITHMS)
    if get("infill_postprocess"):
        overrides["postprocess"] = choice("infill_postprocess", get("infill_postprocess"), list(POSTPROCESS))
    return overrides


def parse_model_paths(values) -> dict[str, str]:
    from infill.models.registry import MODELS
    paths = {}
    for value in values or []:
        name, sep, path = str(value).partition("=")
        if not sep or name not in MODELS:
            raise InfillUsageError(f"--infill-model-path {value!r}: expected NAME=DIR with NAME one of "
                                   f"{', '.join(MODELS)}")
        paths[name] = path
    return paths


def parse_ensemble_options(get, profile: Profile) -> EnsembleOptions:
    from infill.models.registry import MODELS
    from infill.sources.ensemble.spec import (
        parse_combine,
        parse_ensemble,
        parse_scorers,
        parse_strategies,
    )
    definitions = tuple(str(v) for v in get("infill_ensemble") or [])
    for definition in definitions:
        parse_ensemble(definition)
    scorer = str(get("infill_ensemble_scorer") or profile.ensemble_scorer)
    wanted = set(split_list(get("infill_models")))
    if definitions or any(e.partition("=")[0] in wanted for e in profile.ensembles) or not wanted:
        parse_scorers(scorer, MODELS)           # only checked where an ensemble can run
    return EnsembleOptions(definitions, scorer, parse_combine(str(get("infill_ensemble_combine") or "min")),
                           parse_strategies(str(get("infill_ensemble_strategies")
                                                or ",".join(profile.ensemble_strategies))))


def check_model_names(config: RunConfig) -> None:
    from infill.models.registry import MODELS
    from infill.sources.canonical import BUILTIN_SOURCES
    from infill.sources.replay.files import embedded_replays
    replayed: set[str] = set()
    for request in config.replays:
        if request.model in replayed or request.model in BUILTIN_SOURCES:
            raise InfillUsageError(f"--infill-replay {request.option!r}: model name {request.model!r} is already "
                                   f"taken; give each replayed model its own name")
        replayed.add(request.model)
    embedded = [name for name, _ in embedded_replays()]
    ensembles = {e.partition("=")[0] for e in config.profile.ensembles}
    for model in config.models:
        if model not in replayed and model not in ensembles and model not in BUILTIN_SOURCES \
                and model not in embedded and model not in MODELS:
            raise InfillUsageError(f"unknown model {model!r}: choose from "
                                   f"{', '.join(dict.fromkeys([*BUILTIN_SOURCES, *embedded, *MODELS]))} or give "
                                   f"--infill-replay {model}=PATH")
