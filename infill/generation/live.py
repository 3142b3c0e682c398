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
from infill.generation.cache import GenerationCache
from infill.generation.length import LengthPolicy, choose_by_confidence
from infill.generation.postprocess import POSTPROCESS
from infill.models.registry import ModelSpec
from infill.prompts import DIFFUSION_CANVAS, PROMPT_FORMATS
from infill.sources import CompletionSource

AR_BACKEND_VERSION = "ar-fim-v1"


def diffusion_prefix(sample: Sample) -> str:
    """Open-dLLM's SantaCoder-FIM prefix is `prompt + "\\n"` (the line break before the middle is in neither
    field); HumanEval-Infill prompts already end with their newline."""
    return sample.prefix + "\n" if BENCHMARKS[sample.benchmark].family == "santacoder-fim" else sample.prefix


class LiveSource(CompletionSource):
    kind = "live"

    def __init__(self, spec: ModelSpec, settings_for: Callable[[str], object],
                 selected: Callable[[str, str], list[Sample]], cache_dir, cache_enabled: bool = True,
                 refresh_cache: bool = False, path_override: str | None = None, pool=None,
                 progress: Callable | None = None, length_policy: LengthPolicy | None = None):
        from infill.generation.loading import check_available
        from infill.generation.pool import ModelPool
        self.spec, self.length_policy = spec, length_policy
        self.model = f"{spec.name}/{length_policy.label}" if length_policy else spec.name
        self.settings_for, self.selected = settings_for, selected
        self.cache_dir, self.cache_enabled, self.refresh_cache = cache_dir, cache_enabled, refresh_cache
        self.pool = pool or ModelPool(path_overrides={spec.name: path_override} if path_override else {})
        self.progress = progress or (lambda message: None)
        self.location = check_available(spec, path_override)       # fail before the run, not in a test
        self.identity: dict | None = None                          # weights, device, dtype once loaded
        self.refreshed: set[str] = set()
        self.completions: dict[str, dict[str, str]] = {}

    @property
    def diffusion(self) -> bool:
        return self.spec.family == "diffusion"

    def covers(self, benchmark: str) -> bool:
        return True

    def completion(self, sample: Sample) -> str | None:
        if sample.benchmark not in self.completions:
            self.generate(sample.benchmark)
        return self.completions[sample.benchmark].get(sample.sample_id)

    def completions_for(self, benchmark: str, samples: list[Sample]) -> dict[str, str | None]:
        """Completions for exactly these samples, generating (in batches) any not yet done: an ensemble asks its
        members for its own selection, which need not be the member's."""
        have = self.completions.get(benchmark, {})
        if benchmark not in self.completions or any(s.sample_id not in have for s in samples):
            self.generate(benchmark, samples)
        return {s.sample_id: self.completions[benchmark].get(s.sample_id) for s in samples}

    def _load(self):
        loaded = self.pool.get(self.spec)
        self.identity = {"device": loaded.device, "dtype": loaded.dtype, "weights": loaded.weights_identity,
                         "location": loaded.location}
        return loaded

    def cache_for(self, benchmark: str, refresh: bool = False) -> GenerationCache:
        from infill.generation.diffusion import SAMPLER_VERSION
        loaded, settings = self._load(), self.settings_for(benchmark)
        data = load_benchmark(benchmark)
        if self.diffusion:
            backend = {"backend": SAMPLER_VERSION, "prompt_format": f"{DIFFUSION_CANVAS.name}@"
                       f"{DIFFUSION_CANVAS.version}", "length_policy": f"{self.length_policy.name}@"
                       f"{self.length_policy.version}"}
        else:
            prompt_format = PROMPT_FORMATS[self.spec.prompt_format]
            backend = {"backend": AR_BACKEND_VERSION,
                       "prompt_format": f"{prompt_format.name}@{prompt_format.version}"}
        components = {
            "model": self.spec.name, "source": self.spec.source, "weights": loaded.weights_identity,
            "dtype": loaded.dtype, "device_kind": loaded.device, **backend,
            "settings": {k: v for k, v in dataclasses.asdict(settings).items() if k != "batch_size"},
            "postprocess": POSTPROCESS[settings.postprocess].version,
            "benchmark": f"{benchmark}@{BENCHMARKS[benchmark].version}", "data_sha256": data.sha256,
        }
        return GenerationCache(self.cache_dir, components, self.cache_enabled, refresh)

    def generate(self, benchmark: str, samples: list[Sample] | None = None) -> None:
        settings = self.settings_for(benchmark)
        postprocess = POSTPROCESS[settings.postprocess]
        # --infill-refresh-cache discards each benchmark's cached file once per run, not at every later call
        cache = self.cache_for(benchmark, refresh=self.refresh_cache and benchmark not in self.refreshed)
        self.refreshed.add(benchmark)
        done = {**cache.load(), **self.completions.get(benchmark, {})}
        wanted = samples if samples is not None else self.selected(self.model, benchmark)
        todo = [s for s in wanted if s.sample_id not in done]
        total = len(done) + len(todo)
        run_batch = self._diffusion_batches(settings) if self.diffusion else self._ar_batches(settings, postprocess)
        started, batches = time.perf_counter(), 0
        try:
            for batch, raw in run_batch(todo):
                finished = {s.sample_id: postprocess.apply(text) for s, text in zip(batch, raw)}
                cache.append(finished)                  # durable before the next batch starts
                done.update(finished)
                batches += 1
                self.progress(f"{self.model} {benchmark}: {len(done)}/{total} done, batch {batches} "
                              f"({time.perf_counter() - started:.0f} s)")
        except RuntimeError as error:                   # torch.cuda.OutOfMemoryError is a RuntimeError
            from infill.generation.memory import out_of_memory_error
            usage = out_of_memory_error(error, f"model {self.model} ran out of memory generating {benchmark}",
                                        len(done), total, "completions", cache.enabled,
                                        f" (--infill-batch-size {settings.batch_size}, halved on each out-of-memory)")
            if usage is None:
                raise
            raise usage from None
        self.completions[benchmark] = done

    def _ar_batches(self, settings, postprocess):
        from infill.generation.ar import ARFimGenerator, Request
        from infill.generation.sampling import SamplingSettings

        loaded = self._load()
        generator = ARFimGenerator(loaded.model, loaded.tokenizer, PROMPT_FORMATS[self.spec.prompt_format],
                                   stop_at_newline=postprocess.stops_at_newline)
        sampling = SamplingSettings(settings.temperature, settings.top_p, settings.top_k, settings.seed)

        def run(todo: list[Sample]):
            # Longest first (an out-of-memory shows in the first batch); rows of a batch need little padding.
            # Completions do not depend on the batch: each sample has its own random stream.
            lengths = {s.sample_id: generator.prompt_length(s.prefix, s.suffix) for s in todo}
            ordered = sorted(todo, key=lambda s: (-lengths[s.sample_id], s.sample_id))
            for first in range(0, len(ordered), settings.batch_size):
                batch = ordered[first:first + settings.batch_size]
                yield batch, generator.generate([Request(s.sample_id, s.prefix, s.suffix) for s in batch],
                                                sampling, settings.max_new_tokens, settings.batch_size)
        return run

    def _diffusion_batches(self, settings):
        from infill.generation.diffusion import DiffusionInfiller, DiffusionRequest

        loaded = self._load()
        infiller = DiffusionInfiller(loaded.model, loaded.tokenizer)
        sampler = settings.sampler()
        policy = self.length_policy
        encode = lambda text: loaded.tokenizer.encode(text, add_special_tokens=False, split_special_tokens=True)

        def run(todo: list[Sample]):
            ordered = sorted(todo, key=lambda s: (-len(encode(s.prefix + s.suffix)), s.sample_id))
            step = max(1, settings.batch_size // max(1, len(policy.lengths)))
            for first in range(0, len(ordered), step):
                batch = ordered[first:first + step]
                if policy.kind == "confidence":
                    requests = [DiffusionRequest(s.sample_id, diffusion_prefix(s), s.suffix, n)
                                for s in batch for n in policy.lengths]
                    texts, scores = infiller.infill(requests, sampler, settings.batch_size, with_confidence=True)
                    k = len(policy.lengths)
                    yield batch, [choose_by_confidence(list(zip(policy.lengths, texts[i * k:(i + 1) * k],
                                                                scores[i * k:(i + 1) * k])))
                                  for i in range(len(batch))]
                else:
                    lengths = [len(encode(s.canonical)) if policy.kind == "oracle" else policy.lengths[0]
                               for s in batch]
                    yield batch, infiller.infill([DiffusionRequest(s.sample_id, diffusion_prefix(s), s.suffix, n)
                                                  for s, n in zip(batch, lengths)], sampler, settings.batch_size)
        return run

    def provenance(self) -> dict:
        info = {"model": self.model, "kind": self.kind, "registry_source": self.spec.source,
                "family": self.spec.family, "prompt_format": self.spec.prompt_format, "smoke": self.spec.smoke,
                "settings": {family: dataclasses.asdict(self.settings_for_family(family))
                             for family in ("humaneval-infill", "santacoder-fim")}}
        if self.diffusion:                  # the versions that go into the generation cache key
            from infill.generation.diffusion import SAMPLER_VERSION
            info.update(backend=SAMPLER_VERSION, prompt_format_version=DIFFUSION_CANVAS.version)
        else:
            info.update(backend=AR_BACKEND_VERSION,
                        prompt_format_version=PROMPT_FORMATS[self.spec.prompt_format].version)
        if self.length_policy:
            info["length_policy"] = {"name": self.length_policy.name, "version": self.length_policy.version,
                                     "uses_ground_truth": self.length_policy.uses_ground_truth}
        if self.identity is not None:
            info.update(self.identity)
        return info

    def settings_for_family(self, family: str):
        benchmark = next(b.name for b in BENCHMARKS.values() if b.family == family)
        return self.settings_for(benchmark)
