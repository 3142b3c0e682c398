"""Live generation inside pytest: a CompletionSource backed by a model.

The first lookup of a (model, benchmark) pair generates every selected sample of that pair in large,
length-sorted, cross-prompt batches and appends each finished batch to the on-disk cache; later lookups are
dictionary reads. A killed run resumes from the cache without regenerating finished batches.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable

from infill.benchmarks import BENCHMARKS, Sample, load_benchmark
from infill.errors import InfillUsageError
from infill.generation.cache import GenerationCache
from infill.generation.postprocess import POSTPROCESS
from infill.models.registry import ModelSpec
from infill.profiles import GenerationConfig
from infill.prompts import PROMPT_FORMATS
from infill.sources import CompletionSource

BACKEND_VERSION = "ar-fim-v1"


class LiveSource(CompletionSource):
    kind = "live"

    def __init__(self, spec: ModelSpec, settings_for: Callable[[str], GenerationConfig],
                 selected: Callable[[str, str], list[Sample]], cache_dir, cache_enabled: bool = True,
                 refresh_cache: bool = False, path_override: str | None = None, dtype_override: str | None = None,
                 progress: Callable | None = None):
        if spec.family != "ar-fim":
            raise InfillUsageError(f"model {spec.name}: the {spec.family} backend is not available yet; "
                                   f"choose an autoregressive FIM model or replay its recorded generations")
        self.spec, self.model = spec, spec.name
        self.settings_for, self.selected = settings_for, selected
        self.cache_dir, self.cache_enabled, self.refresh_cache = cache_dir, cache_enabled, refresh_cache
        self.path_override, self.dtype_override = path_override, dtype_override
        self.progress = progress or (lambda message: None)
        from infill.generation.loading import check_available
        self.location = check_available(spec, path_override)       # fail before the run, not in a test
        self.loaded = None
        self.completions: dict[str, dict[str, str]] = {}
        self.stats: dict[str, dict] = {}

    def covers(self, benchmark: str) -> bool:
        return True

    def completion(self, sample: Sample) -> str | None:
        if sample.benchmark not in self.completions:
            self.generate(sample.benchmark)
        return self.completions[sample.benchmark].get(sample.sample_id)

    def _load(self):
        if self.loaded is None:
            from infill.generation.loading import load_model
            self.loaded = load_model(self.spec, self.path_override, self.dtype_override)
        return self.loaded

    def cache_for(self, benchmark: str) -> GenerationCache:
        loaded, settings = self._load(), self.settings_for(benchmark)
        prompt_format = PROMPT_FORMATS[self.spec.prompt_format]
        data = load_benchmark(benchmark)
        components = {
            "model": self.spec.name, "source": self.spec.source, "weights": loaded.weights_identity,
            "backend": BACKEND_VERSION, "dtype": loaded.dtype, "device_kind": loaded.device,
            "prompt_format": f"{prompt_format.name}@{prompt_format.version}",
            "settings": {k: v for k, v in dataclasses.asdict(settings).items() if k not in ("batch_size",)},
            "postprocess": POSTPROCESS[settings.postprocess].version,
            "benchmark": f"{benchmark}@{BENCHMARKS[benchmark].version}", "data_sha256": data.sha256,
        }
        return GenerationCache(self.cache_dir, components, self.cache_enabled, self.refresh_cache)

    def generate(self, benchmark: str) -> None:
        from infill.generation.ar import ARFimGenerator, Request
        from infill.generation.sampling import SamplingSettings

        loaded, settings = self._load(), self.settings_for(benchmark)
        postprocess = POSTPROCESS[settings.postprocess]
        cache = self.cache_for(benchmark)
        self.refresh_cache = False                  # refresh once per run, not once per benchmark lookup
        done = cache.load()
        todo = [s for s in self.selected(self.model, benchmark) if s.sample_id not in done]
        generator = ARFimGenerator(loaded.model, loaded.tokenizer, PROMPT_FORMATS[self.spec.prompt_format],
                                   stop_at_newline=postprocess.stops_at_newline)
        # Length-sorted (longest first: an out-of-memory shows up in the first batch), so rows of a batch need
        # little padding. Completions do not depend on the batch (per-sample random streams).
        lengths = {s.sample_id: generator.prompt_length(s.prefix, s.suffix) for s in todo}
        todo.sort(key=lambda s: (-lengths[s.sample_id], s.sample_id))
        sampling = SamplingSettings(settings.temperature, settings.top_p, settings.top_k, settings.seed)
        started, batches = time.perf_counter(), 0
        for first in range(0, len(todo), settings.batch_size):
            batch = todo[first:first + settings.batch_size]
            raw = generator.generate([Request(s.sample_id, s.prefix, s.suffix) for s in batch], sampling,
                                     settings.max_new_tokens, settings.batch_size)
            finished = {s.sample_id: postprocess.apply(text) for s, text in zip(batch, raw)}
            cache.append(finished)
            done.update(finished)
            batches += 1
            self.progress(f"{self.model} {benchmark}: {first + len(batch)}/{len(todo)} generated "
                          f"({time.perf_counter() - started:.0f} s)")
        self.completions[benchmark] = done
        self.stats[benchmark] = {"generated": len(todo), "from_cache": len(done) - len(todo), "batches": batches,
                                 "seconds": round(time.perf_counter() - started, 3), "cache_key": cache.key}

    def provenance(self) -> dict:
        info = {"model": self.model, "kind": self.kind, "registry_source": self.spec.source,
                "family": self.spec.family, "prompt_format": self.spec.prompt_format, "smoke": self.spec.smoke,
                "settings": {family: dataclasses.asdict(self.settings_for_family(family))
                             for family in ("humaneval-infill", "santacoder-fim")}}
        if self.loaded is not None:
            info.update(device=self.loaded.device, dtype=self.loaded.dtype,
                        weights=self.loaded.weights_identity, location=self.loaded.location)
        return info

    def settings_for_family(self, family: str) -> GenerationConfig:
        benchmark = next(b.name for b in BENCHMARKS.values() if b.family == family)
        return self.settings_for(benchmark)
