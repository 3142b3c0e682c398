"""Which models run, from the options: replayed files, the embedded recordings, built-in sources and live
registry models under a profile. Every name is checked here, so a typo stops the run before anything starts."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from infill.errors import InfillUsageError
from infill.generation.length import parse_length_policy
from infill.generation.pool import ModelPool
from infill.generation.postprocess import POSTPROCESS
from infill.models.registry import MODELS
from infill.profiles import PROFILES, get_profile
from infill.replay import embedded_replays, parse_replay_option
from infill.sources import CanonicalSource, CompletionSource, ReplaySource

BUILTIN_SOURCES = {"canonical": CanonicalSource}
DEFAULT_CACHE_DIR = ".infill-cache"
DTYPES = ("float32", "bfloat16", "float16")


def split_list(value) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def number(name: str, value, kind: type, minimum: float):
    try:
        parsed = kind(value)
    except (TypeError, ValueError):
        what = "a whole number" if kind is int else "a number"
        raise InfillUsageError(f"--{name.replace('_', '-')} {value!r}: expected {what}") from None
    if parsed < minimum:
        raise InfillUsageError(f"--{name.replace('_', '-')} {value!r}: must be at least {minimum}")
    return parsed


def cache_dir_option(get: Callable[[str], object]) -> Path:
    """--infill-cache-dir: generations, scores and execution verdicts (each kind in its own files)."""
    return Path(str(get("infill_cache_dir") or DEFAULT_CACHE_DIR)).expanduser()


def gpu_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def generation_overrides(get: Callable[[str], object]) -> dict:
    overrides = {}
    for dest, field, kind, minimum in [("infill_temperature", "temperature", float, 0.0),
                                       ("infill_top_p", "top_p", float, 0.0),
                                       ("infill_max_new_tokens", "max_new_tokens", int, 1),
                                       ("infill_seed", "seed", int, 0), ("infill_batch_size", "batch_size", int, 1),
                                       ("infill_steps", "steps", int, 1), ("infill_alg_temp", "alg_temp", float, 0.0)]:
        value = get(dest)
        if value not in (None, ""):
            overrides[field] = number(dest, value, kind, minimum)
    if overrides.get("top_p", 0.5) > 1.0:
        raise InfillUsageError(f"--infill-top-p {overrides['top_p']}: must be at most 1.0")
    alg = get("infill_alg")
    if alg:
        from infill.generation.diffusion import ALGORITHMS
        if alg not in ALGORITHMS:
            raise InfillUsageError(f"--infill-alg {alg!r}: choose from {', '.join(ALGORITHMS)}")
        overrides["alg"] = alg
    postprocess = get("infill_postprocess")
    if postprocess:
        if postprocess not in POSTPROCESS:
            raise InfillUsageError(f"--infill-postprocess {postprocess!r}: choose from {', '.join(POSTPROCESS)}")
        overrides["postprocess"] = postprocess
    return overrides


def model_paths(get: Callable[[str], object]) -> dict[str, str]:
    paths = {}
    for value in get("infill_model_path") or []:
        name, sep, path = str(value).partition("=")
        if not sep or name not in MODELS:
            raise InfillUsageError(f"--infill-model-path {value!r}: expected NAME=DIR with NAME one of "
                                   f"{', '.join(MODELS)}")
        paths[name] = path
    return paths


def build_sources(get: Callable[[str], object], selected, progress, family_of,
                  grade=None) -> tuple[dict, list[str], str, ModelPool]:
    """(sources by model name, notes for the top of the report, profile name, the model pool). `grade` grades
    a list of (sample, completion) pairs: ensembles need their candidates' verdicts."""
    from infill.generation.live import LiveSource

    notes: list[str] = []
    sources: dict[str, CompletionSource] = {}
    for value in get("infill_replay") or []:
        model, benchmark, path = parse_replay_option(value)
        if model in sources or model in BUILTIN_SOURCES or model in MODELS:
            raise InfillUsageError(f"--infill-replay {value!r}: model name {model!r} is already taken; give "
                                   f"each replayed model its own name")
        sources[model] = ReplaySource(model, path, benchmark)
    replayed = dict(sources)            # every file is checked; --infill-models picks which are graded
    if get("infill_no_cache") and get("infill_refresh_cache"):
        raise InfillUsageError("--infill-no-cache and --infill-refresh-cache contradict each other: the first "
                               "neither reads nor writes the cache, the second regenerates and rewrites it; "
                               "pass one of them")
    dtype = get("infill_dtype") or None
    if dtype is not None and dtype not in DTYPES:
        raise InfillUsageError(f"--infill-dtype {dtype!r}: choose from {', '.join(DTYPES)}")
    embedded = dict(embedded_replays())
    gpu = gpu_available()
    profile = get_profile(str(get("infill_profile") or ("paper" if gpu else "tiny")))
    overrides = generation_overrides(get)
    paths = model_paths(get)
    cache_dir = cache_dir_option(get)
    pool = ModelPool("sequential" if get("infill_sequential_models") else "together", paths, dtype)

    policies = [parse_length_policy(p) for p in split_list(get("infill_length_policies"))] or \
        [parse_length_policy(p) for p in profile.length_policies]

    def live(name: str, only_policy=None) -> dict[str, LiveSource]:
        """One source per registry model; a diffusion model gets one per length policy (MODEL/POLICY)."""
        spec = MODELS[name]
        diffusion = spec.family == "diffusion"
        made = [LiveSource(spec, lambda benchmark: profile.settings(family_of(benchmark), overrides, diffusion),
                           selected, cache_dir, cache_enabled=not get("infill_no_cache"),
                           refresh_cache=bool(get("infill_refresh_cache")), path_override=paths.get(name),
                           pool=pool, progress=progress, length_policy=policy)
                for policy in (([only_policy] if only_policy else policies) if diffusion else [None])]
        return {source.model: source for source in made}

    def resolve_member(name: str) -> dict[str, CompletionSource]:
        root, _, policy = name.partition("/")
        if name in replayed:            # a replayed model that --infill-models left out: a member still
            return {name: replayed[name]}
        if name in embedded:
            return {name: ReplaySource(name, embedded[name])}
        if root in MODELS and (MODELS[root].family == "diffusion") == bool(policy):
            return live(root, parse_length_policy(policy) if policy else None)
        return {}

    wanted = split_list(get("infill_models"))
    ensemble_names: list[str] = []
    for model in wanted:
        if model in sources:
            continue
        if model in {e.partition("=")[0] for e in profile.ensembles}:     # e.g. --infill-models ensemble
            ensemble_names.append(model)
            continue
        if model in BUILTIN_SOURCES:
            sources[model] = BUILTIN_SOURCES[model]()
        elif model in embedded:
            sources[model] = ReplaySource(model, embedded[model])
        elif model in MODELS:
            sources.update(live(model))
        else:
            raise InfillUsageError(f"unknown model {model!r}: choose from "
                                   f"{', '.join(dict.fromkeys([*BUILTIN_SOURCES, *embedded, *MODELS]))} or give "
                                   f"--infill-replay {model}=PATH")
    if wanted:
        sources = {m: s for m, s in sources.items() if m.split("/")[0] in wanted}
    ensembles = [str(v) for v in get("infill_ensemble") or []] + \
        [e for e in profile.ensembles if e.partition("=")[0] in ensemble_names]
    if not sources and not ensembles:
        sources = {m: ReplaySource(m, p) for m, p in embedded.items()}
        for model in profile.models:
            sources.update(live(model))
        ensembles = list(profile.ensembles)
        notes.append("Default run: replayed real generations recorded by a third party on one NVIDIA L4 "
                     "(shipped in infill/recorded, Apache-2.0), then the live models of profile "
                     f"`{profile.name}` and its perplexity ensembles.")
    from infill.ensemble.build import build_ensembles
    ensemble_rows = build_ensembles(ensembles, get, profile, sources, resolve_member, pool, selected, progress,
                                    grade, cache_dir, family_of)
    sources.update(ensemble_rows)
    left_out = [m for m in replayed if m not in sources]
    if left_out:
        notes.append(f"--infill-replay {', '.join(left_out)}: checked but not graded, --infill-models "
                     f"{', '.join(wanted)} leaves {'it' if len(left_out) == 1 else 'them'} out.")
    if get("infill_length_policies") and not any(isinstance(s, LiveSource) and s.diffusion
                                                 for s in sources.values()):
        notes.append("--infill-length-policies has no effect: no diffusion model runs in this run.")
    if pool.mode == "sequential":
        notes.append("Sequential models: one model in memory at a time (generate, free, load the next; ensemble "
                     "scoring after its members).")
    if any(isinstance(s, LiveSource) for s in sources.values()) and not gpu:
        notes.append(f"No GPU: live models ran on the CPU (profile `{profile.name}`).")
    oracle = [m for m, s in sources.items() if isinstance(s, LiveSource) and s.length_policy
              and s.length_policy.uses_ground_truth]
    if oracle:
        notes.append(f"{', '.join(oracle)}: ORACLE length (the canonical middle's token count, the published "
                     f"setting) leaks the answer's length; compare with the non-oracle rows.")
    smoke = [m for m, s in sources.items() if isinstance(s, LiveSource) and s.spec.smoke]
    if smoke:
        notes.append(f"{', '.join(smoke)}: shipped tiny SMOKE models (a few million parameters trained for "
                     f"minutes on the Python stdlib). Their scores are near zero by design and say nothing about "
                     f"the real models; they prove the pipeline runs end to end.")
    assert profile.name in PROFILES
    return sources, notes, profile.name, pool
