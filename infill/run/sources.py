"""Which sources a run grades, built from the configuration: replayed files, the embedded recordings, the ground
truth, live registry models (a diffusion model once per length policy) and perplexity ensembles over them. The
collaborators (model pool, score service, progress) are built by the caller and handed in."""

from __future__ import annotations

from dataclasses import dataclass, field

from infill.config.live_settings import LiveSettings
from infill.config.run_config import RunConfig
from infill.errors import InfillUsageError
from infill.generation.backends import make_backend
from infill.generation.length import parse_length_policy
from infill.generation.loading import check_available
from infill.generation.pool import ModelPool
from infill.models.registry import MODELS
from infill.run.progress import Progress
from infill.sources.base import CompletionSource
from infill.sources.canonical import BUILTIN_SOURCES
from infill.sources.ensemble.build import build_ensembles
from infill.sources.ensemble.scores import ScoreService
from infill.sources.live import CacheOptions, LiveSource
from infill.sources.replay.files import embedded_replays
from infill.sources.replay.source import ReplaySource


@dataclass
class SourceFactory:
    """Makes each source once (a member named by an ensemble and by --infill-models is one object)."""
    config: RunConfig
    pool: ModelPool
    settings: LiveSettings
    progress: Progress
    replayed: dict[str, CompletionSource] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)     # registry model -> why its weights are not here

    def __post_init__(self):
        self.embedded = dict(embedded_replays())
        self.cache = CacheOptions(self.config.cache_dir, self.config.cache_enabled, self.config.refresh_cache)
        for request in self.config.replays:          # every file is read and checked, graded or not
            self.replayed[request.model] = ReplaySource(request.model, request.path, request.benchmark)

    def live(self, name: str, only_policy=None) -> dict[str, LiveSource]:
        """One source per registry model; a diffusion model gets one per length policy (MODEL/POLICY)."""
        spec = MODELS[name]
        try:
            location = check_available(spec, self.pool.path_overrides.get(name))
        except InfillUsageError as error:       # every missing model is named at once (check_weights)
            self.missing[name] = str(error)
            return {}
        policies = ([only_policy] if only_policy else list(self.config.length_policies)) \
            if spec.backend == "diffusion" else [None]
        made = [LiveSource(spec, make_backend(spec, policy), self.settings, self.pool, self.cache, self.progress,
                           policy, location, self.config.samples) for policy in policies]
        return {source.model: source for source in made}

    def check_weights(self) -> None:
        """One error for every registry model without weights: a line each, with the command that fetches it."""
        if len(self.missing) == 1:
            raise InfillUsageError(next(iter(self.missing.values())))
        if self.missing:
            raise InfillUsageError(f"{len(self.missing)} models have no weights here:\n" + "\n".join(
                f"  {name}: hf download {MODELS[name].source} (then copy the Hugging Face cache here), or "
                f"--infill-model-path {name}=DIR" for name in self.missing))

    def named(self, model: str) -> dict[str, CompletionSource]:
        """The rows a name of --infill-models stands for ({} for an ensemble name: built later)."""
        if model in self.replayed:
            return {model: self.replayed[model]}
        if model in BUILTIN_SOURCES:
            return {model: BUILTIN_SOURCES[model]()}
        if model in self.embedded:
            return {model: ReplaySource(model, self.embedded[model])}
        return self.live(model) if model in MODELS else {}

    def member(self, name: str) -> dict[str, CompletionSource]:
        """An ensemble member: a replayed or embedded model, or a registry model (`MODEL/POLICY` for diffusion)."""
        root, _, policy = name.partition("/")
        if name in self.replayed:
            return {name: self.replayed[name]}
        if name in self.embedded:
            return {name: ReplaySource(name, self.embedded[name])}
        if root in MODELS and (MODELS[root].backend == "diffusion") == bool(policy):
            return self.live(root, parse_length_policy(policy) if policy else None)
        return {}


def build_sources(factory: SourceFactory, scores: ScoreService) -> tuple[dict[str, CompletionSource], list[str]]:
    """(sources by row name in the run's order, notes for the top of the report)."""
    config, profile, notes = factory.config, factory.config.profile, []
    sources: dict[str, CompletionSource] = dict(factory.replayed)
    wanted = config.models
    for model in wanted:
        if model not in sources:
            sources.update(factory.named(model))
    if wanted:
        sources = {m: s for m, s in sources.items() if m.split("/")[0] in wanted}
    ensembles = list(config.ensembles.definitions) + [e for e in profile.ensembles if e.partition("=")[0] in wanted]
    if not sources and not ensembles:
        sources = {m: ReplaySource(m, p) for m, p in factory.embedded.items()}
        for model in profile.models:
            sources.update(factory.live(model))
        ensembles = list(profile.ensembles)
        notes.append("Default run: replayed real generations recorded by a third party on one NVIDIA L4 "
                     "(shipped in infill/recorded, Apache-2.0), then the live models of profile "
                     f"`{profile.name}` and its perplexity ensembles.")
    add_ensemble_members(ensembles, sources, factory)
    factory.check_weights()
    options = config.ensembles
    sources.update(build_ensembles(ensembles, options.scorer, options.combine, options.strategies, sources, scores))
    left_out = [m for m in factory.replayed if m not in sources]
    if left_out:
        notes.append(f"--infill-replay {', '.join(left_out)}: checked but not graded, --infill-models "
                     f"{', '.join(wanted)} leaves {'it' if len(left_out) == 1 else 'them'} out.")
    return sources, notes


def add_ensemble_members(definitions: list[str], sources: dict[str, CompletionSource], factory: SourceFactory) -> None:
    """An ensemble is compared with its members, so they are rows of the run too."""
    from infill.sources.ensemble.spec import parse_ensemble
    for definition in definitions:
        for member in parse_ensemble(definition)[1]:
            if member not in sources:
                sources.update(factory.member(member))
