"""A live model as a completion source: any generation backend (infill.generation.backends), batched, post-processed
and cached.

`prepare(benchmark, samples)` generates every sample not yet done, in the backend's batches, and appends each
finished batch to the on-disk cache before the next starts; `completion` is then a dictionary read. A killed run
resumes from the cache without regenerating finished batches.
"""

from __future__ import annotations

import dataclasses

from infill.benchmarks import BENCHMARKS, load_benchmark
from infill.benchmarks.sample import Sample
from infill.config.live_settings import LiveSettings
from infill.generation.backends import GenerationBackend
from infill.generation.cache import GenerationCache
from infill.generation.length import LengthPolicy
from infill.generation.loading import check_available
from infill.generation.pool import ModelPool
from infill.generation.postprocess import POSTPROCESS
from infill.models.registry import ModelSpec
from infill.run.progress import CacheCount, Meter, Progress
from infill.sources.base import CompletionSource


CACHE_KEY_VERSION = "portable-v2"      # v1 held the model's source path: a moved checkout missed every entry


@dataclasses.dataclass(frozen=True)
class CacheOptions:
    directory: object
    enabled: bool = True
    refresh: bool = False       # discard each benchmark's cached file once in this run


class LiveSource(CompletionSource):
    kind = "live"

    def __init__(self, spec: ModelSpec, backend: GenerationBackend, settings: LiveSettings, pool: ModelPool,
                 cache: CacheOptions, progress: Progress, length_policy: LengthPolicy | None = None,
                 location: str | None = None, samples: int = 1):
        self.spec, self.backend, self.settings, self.length_policy = spec, backend, settings, length_policy
        self.model = f"{spec.name}/{length_policy.label}" if length_policy else spec.name
        self.pool, self.cache_options, self.progress = pool, cache, progress
        self.samples = samples                                     # completions per task
        # where the weights are, checked before the run (the caller may have checked already)
        self.location = location or check_available(spec, pool.path_overrides.get(spec.name))
        self.identity: dict | None = None                          # weights, device, dtype once known
        self.effective: dict[str, dict] = {}                       # kind -> sampling values and their origins
        self.refreshed: set[str] = set()
        self.completions: dict[str, dict[str, str]] = {}

    def covers(self, benchmark: str) -> bool:
        return True

    def settings_for(self, benchmark: str):
        """The profile's settings with the command line's (what does not depend on the weights)."""
        return self.settings.for_benchmark(benchmark, self.spec.backend)

    def resolved_settings(self, benchmark: str):
        """The settings generation runs with: what the model's own files decide filled in (AR sampling)."""
        from infill.benchmarks import kind_of
        settings, origins = self.backend.resolve(self._identify(), self.settings_for(benchmark),
                                                 self.settings.command_line)
        if origins:
            self.effective[kind_of(benchmark).name] = origins
        return settings

    def completion(self, sample: Sample) -> str | None:
        return self.candidates(sample)[0]

    def candidates(self, sample: Sample) -> list[str | None]:
        have = self.completions.get(sample.benchmark, {})
        if any(copy.sample_id not in have for copy in sample_copies(sample, self.samples)):
            self.prepare(sample.benchmark, [sample])
        return [self.completions[sample.benchmark].get(copy.sample_id) for copy in sample_copies(sample, self.samples)]

    def _identify(self):
        """The model's identity; loaded only when something is generated (a fully cached run loads nothing)."""
        known = self.pool.identity(self.spec)
        self.identity = {"device": known.device, "dtype": known.dtype, "weights": known.weights_identity,
                         "location": known.location}
        return known

    def cache_for(self, benchmark: str, refresh: bool = False) -> GenerationCache:
        known, settings = self._identify(), self.resolved_settings(benchmark)
        components = {
            # what was computed, never where it lay: a local model is named by its files' content (the weights
            # identity), a hub model by its id and commit, so a copied cache serves another checkout or machine
            "model": self.spec.name, "weights": known.weights_identity, "key": CACHE_KEY_VERSION,
            "dtype": known.dtype, "device_kind": known.device, **self.backend.describe(),
            "settings": {k: v for k, v in dataclasses.asdict(settings).items() if k != "batch_size"},
            "postprocess": POSTPROCESS[settings.postprocess].version,
            "benchmark": f"{benchmark}@{BENCHMARKS[benchmark].version}", "data_sha256": load_benchmark(benchmark).sha256,
        }
        return GenerationCache(self.cache_options.directory, components, self.cache_options.enabled, refresh)

    def prepare(self, benchmark: str, samples: list[Sample]) -> None:
        """Generate every one of the `samples` x self.samples completions not yet done (nor cached)."""
        samples = [copy for sample in samples for copy in sample_copies(sample, self.samples)]
        have = self.completions.get(benchmark, {})
        if benchmark in self.completions and all(s.sample_id in have for s in samples):
            return
        settings = self.resolved_settings(benchmark)
        postprocess = POSTPROCESS[settings.postprocess]
        cache = self.cache_for(benchmark, refresh=self.cache_options.refresh and benchmark not in self.refreshed)
        self.refreshed.add(benchmark)
        cached = cache.load()
        done = {**cached, **have}
        todo = [s for s in samples if s.sample_id not in done]
        needed = {s.sample_id for s in samples if s.sample_id not in have}
        self.progress.from_cache(CacheCount(self.model, benchmark, "generations", len(needed & cached.keys()),
                                            len(needed)))
        meter = Meter(self.model, benchmark, "generating", len(needed), len(needed) - len(todo))
        total, generated = len(done) + len(todo), 0
        partial = lambda finished: self.progress.advance(meter.reading(meter.first + generated + finished))
        if todo:
            self.progress.advance(meter.reading(meter.first))
        try:
            loaded = self.pool.get(self.spec) if todo else None          # loaded only to generate
            for batch, raw in self.backend.generate(loaded, todo, settings, partial) if todo else ():
                finished = {s.sample_id: postprocess.apply(text, s) for s, text in zip(batch, raw)}
                cache.append(finished)                  # durable before the next batch starts
                done.update(finished)
                generated += len(batch)
                self.progress.advance(meter.reading(meter.first + generated, finished=generated == len(todo)))
        except RuntimeError as error:                   # torch.cuda.OutOfMemoryError is a RuntimeError
            from infill.generation.memory import out_of_memory_error
            usage = out_of_memory_error(error, f"model {self.model} ran out of memory generating {benchmark}",
                                        len(done), total, "completions", cache.enabled,
                                        f" (--infill-batch-size {settings.batch_size}, halved on each out-of-memory)")
            if usage is None:
                raise
            raise usage from None
        self.completions[benchmark] = done

    def provenance(self) -> dict:
        info = {"model": self.model, "kind": self.kind, "registry_source": self.spec.source,
                "model_backend": self.spec.backend, "prompt_format": self.spec.prompt_format, "smoke": self.spec.smoke,
                "settings": self.settings.per_kind(self.spec.backend), **self.backend.provenance()}
        if self.identity is not None:
            info.update(self.identity)
        if self.effective:                  # AR sampling as generate resolves it, with where each value came from
            info["effective_sampling"] = dict(sorted(self.effective.items()))
        return info


def sample_copies(sample: Sample, count: int) -> list[Sample]:
    """The sample's `count` generation requests. Copy j > 0 is the sample under the id `ID#j`, which seeds its own
    random stream and keys its own cache entry, so copy j is the same whatever N, the batch or the shard, and raising
    N only generates the new copies; copy 0 is the sample itself (a run of one sample per task is unchanged)."""
    return [sample] + [dataclasses.replace(sample, sample_id=f"{sample.sample_id}#{j}") for j in range(1, count)]
