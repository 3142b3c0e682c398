"""Scores an ensemble's candidates with a registry model borrowed from the pool, through a durable
per-(scorer, model, benchmark) cache keyed by the candidate's text in context, so a killed run keeps its scores and a
changed completion is scored afresh."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from infill.benchmarks import BENCHMARKS, kind_of, load_benchmark
from infill.benchmarks.sample import Sample
from infill.config.live_settings import LiveSettings
from infill.generation.cache import GenerationCache
from infill.generation.diffusion_backend import diffusion_prefix
from infill.run.progress import CacheCount, Meter, Progress
from infill.scoring.registry import SCORERS
from infill.scoring.scored import Scored
from infill.sources.ensemble.spec import ScorerUse

UNSCORED = Scored(0.0, 0)                      # no completion: perplexity inf, never preferred


@dataclass(frozen=True)
class ScoringOptions:
    cache_dir: object
    cache_enabled: bool = True
    batch_size: int = 16
    # AR scorers read the whole prefix and suffix (the published design) unless the profile keeps only the
    # last/first lines around the hole (`tiny`: CPU cost grows with the context, SantaCoder files are long)
    context_lines: tuple[int, int] | None = None


class ScoreService:
    def __init__(self, pool, models: dict, settings: LiveSettings, options: ScoringOptions, progress: Progress):
        self.pool, self.models, self.settings, self.options, self.progress = pool, models, settings, options, progress
        self.identities: dict[str, str] = {}

    @property
    def context_lines(self):
        return self.options.context_lines

    def context(self, use: ScorerUse, sample: Sample, completion: str) -> tuple[str, str, str]:
        """(prefix, completion, suffix) as this scorer reads the candidate."""
        if use.scorer == "diffusion":
            return diffusion_prefix(sample), completion, sample.suffix
        lines, prefix = self.options.context_lines, kind_of(sample.benchmark).prompt_prefix(sample)
        if lines is None:
            return prefix, completion, sample.suffix
        head = prefix.split("\n")
        return "\n".join(head[-(lines[0] + 1):]), completion, "\n".join(sample.suffix.split("\n")[:lines[1]])

    def score(self, use: ScorerUse, benchmark: str, samples: list[Sample],
              completions: dict[str, dict[str, str | None]], owner: str | None = None) -> dict[str, list[Scored]]:
        """member -> one score per sample (UNSCORED where the member has no completion). `owner`: the ensemble the
        scores are for, as progress names it."""
        spec = self.models[use.model]
        identity = self.pool.identity(spec)         # the model itself is loaded only if something is scored
        self.identities[use.model] = identity.weights_identity
        window = self.settings.for_benchmark(benchmark, "diffusion").window if use.scorer == "diffusion" else None
        # On CPU, score in float64: float32 results move in the 7th digit with the batch's composition (padding
        # width, neighbours), so a shard of the run would print other perplexities than the whole run. On a GPU
        # the model's own dtype is kept (speed), and shards agree to floating-point noise.
        score_dtype = "float64" if identity.device == "cpu" else identity.dtype
        lines = self.options.context_lines if use.scorer != "diffusion" else None
        cache = GenerationCache(self.options.cache_dir, {
            "kind": "ensemble-score", "scorer": use.scorer, "scorer_version": SCORERS[use.scorer].version,
            "model": spec.name, "weights": identity.weights_identity, "dtype": score_dtype,
            "device_kind": identity.device,
            "window": list(window) if window else None, "context_lines": list(lines) if lines else None,
            "benchmark": f"{benchmark}@{BENCHMARKS[benchmark].version}",
            "data_sha256": load_benchmark(benchmark).sha256}, self.options.cache_enabled)
        known = {key: Scored(*json.loads(value)) for key, value in cache.load().items()}
        keyed = {member: {s.sample_id: context_key(self.context(use, s, texts[s.sample_id])) for s in samples
                          if texts.get(s.sample_id) is not None} for member, texts in completions.items()}
        todo = {}
        for member, texts in completions.items():
            for sample in samples:
                key = keyed[member].get(sample.sample_id)
                if key is not None and key not in known:
                    todo.setdefault(key, self.context(use, sample, texts[sample.sample_id]))
        needed = {key for keys in keyed.values() for key in keys.values()}
        self.progress.from_cache(CacheCount(owner or use.label, benchmark, "scores", len(needed) - len(todo),
                                            len(needed)))
        meter = Meter(owner or use.label, benchmark, f"scoring {use.label}", len(todo))
        self._score_missing(use, benchmark, score_dtype, window, todo, known, cache, meter)
        return {member: [known[keyed[member][s.sample_id]] if s.sample_id in keyed[member] else UNSCORED
                         for s in samples] for member in completions}

    def _score_missing(self, use: ScorerUse, benchmark: str, score_dtype: str, window, todo: dict,
                       known: dict, cache: GenerationCache, meter: Meter) -> None:
        if not todo:
            return
        # Shortest first over the whole benchmark, not only within a chunk: each batch then holds rows of nearly one
        # length (a tenth less padding computed on the tiny profile's ensembles), and a row's score does not depend
        # on its neighbours beyond float64's last bit (see score_dtype).
        keys, loaded = sorted(todo, key=lambda key: sum(map(len, todo[key]))), self.pool.get(self.models[use.model])
        model = loaded.model
        if score_dtype == "float64":
            import copy

            import torch
            model = copy.deepcopy(loaded.model).to(torch.float64)     # freed when scoring returns
        from infill.models.prompt_formats import PROMPT_FORMATS
        prompt_format = PROMPT_FORMATS.get(self.models[use.model].prompt_format)
        step = self.options.batch_size * 8             # cache granularity: a kill loses at most one chunk
        self.progress.advance(meter.reading(0))
        for first in range(0, len(keys), step):
            chunk = keys[first:first + step]
            try:
                scored = SCORERS[use.scorer](model, loaded.tokenizer, [todo[k] for k in chunk],
                                             batch_size=self.options.batch_size, prompt_format=prompt_format,
                                             window=window)
            except RuntimeError as error:           # halved down to batch size 1 (infill.generation.memory)
                from infill.generation.memory import out_of_memory_error
                usage = out_of_memory_error(error, f"scorer {use.label} ran out of memory scoring {benchmark}",
                                            first, len(keys), "scores", cache.enabled)
                if usage is None:
                    raise
                raise usage from None
            cache.append({k: json.dumps([s.mean_nll, s.tokens]) for k, s in zip(chunk, scored)})
            known.update(zip(chunk, scored))
            self.progress.advance(meter.reading(min(first + step, len(keys)), finished=first + step >= len(keys)))


def context_key(triple: tuple[str, str, str]) -> str:
    return hashlib.sha256(json.dumps(triple).encode()).hexdigest()[:32]
