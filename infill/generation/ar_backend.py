"""The autoregressive FIM backend: the model's FIM prompt, batched generation with per-sample seeded streams
(infill.generation.ar)."""

from __future__ import annotations

from dataclasses import replace

from infill.benchmarks import kind_of
from infill.benchmarks.sample import Sample
from infill.errors import InfillUsageError
from infill.generation.postprocess import POSTPROCESS
from infill.models.prompt_formats import PROMPT_FORMATS
from infill.models.registry import ModelSpec

AR_BACKEND_VERSION = "ar-fim-v1"


class ARFimBackend:
    def __init__(self, spec: ModelSpec, length_policy=None):
        self.spec, self.prompt_format = spec, PROMPT_FORMATS[spec.prompt_format]

    def describe(self) -> dict:
        from infill.generation.sampling_config import SAMPLING_VERSION
        return {"backend": AR_BACKEND_VERSION, "sampling": SAMPLING_VERSION,
                "prompt_format": f"{self.prompt_format.name}@{self.prompt_format.version}"}

    def provenance(self) -> dict:
        return {"backend": AR_BACKEND_VERSION, "prompt_format_version": self.prompt_format.version}

    def resolve(self, loaded, settings, command_line: dict):
        """The settings with every sampling value filled in as `model.generate` resolves it (the profile's and the
        command line's first, then the model's generation_config.json, then transformers' defaults), and where
        each value came from."""
        from infill.generation.loading import generation_config_of
        from infill.generation.sampling_config import SUPPORTED, resolve_sampling
        given = {name: getattr(settings, name) for name in SUPPORTED if getattr(settings, name) is not None}
        override = {name: value for name, value in given.items() if name in command_line}
        profile = {name: value for name, value in given.items() if name not in command_line}
        try:
            resolved = resolve_sampling(profile, override, generation_config_of(loaded))
        except ValueError as error:
            raise InfillUsageError(f"model {self.spec.name}: {error}") from None
        filled = replace(settings, do_sample=resolved.do_sample, temperature=resolved.temperature,
                         top_k=resolved.top_k, top_p=resolved.top_p, repetition_penalty=resolved.repetition_penalty,
                         stop_token_ids=resolved.stop_token_ids)
        return filled, {name: {"value": getattr(filled, name), "origin": origin}
                        for name, origin in resolved.origins.items()}

    def generate(self, loaded, samples: list[Sample], settings, partial=None):
        """(`partial` unused: an AR batch is short, its progress shows when it is yielded.)"""
        from infill.generation.ar import ARFimGenerator, Request
        from infill.generation.sampling import SamplingSettings

        generator = ARFimGenerator(loaded.model, loaded.tokenizer, self.prompt_format,
                                   stop_at_newline=POSTPROCESS[settings.postprocess].stops_at_newline,
                                   extra_stop_ids=settings.stop_token_ids)
        # greedy is temperature 0 for the engine; the repetition penalty applies either way, as in generate
        sampling = SamplingSettings(settings.temperature if settings.do_sample else 0.0, settings.top_p,
                                    settings.top_k, settings.seed, settings.repetition_penalty)
        # Longest first (an out-of-memory shows in the first batch); rows of a batch need little padding.
        # Completions do not depend on the batch: each sample has its own random stream.
        prefix = {s.sample_id: kind_of(s.benchmark).prompt_prefix(s) for s in samples}
        lengths = {s.sample_id: generator.prompt_length(prefix[s.sample_id], s.suffix) for s in samples}
        ordered = sorted(samples, key=lambda s: (-lengths[s.sample_id], s.sample_id))
        for first in range(0, len(ordered), settings.batch_size):
            batch = ordered[first:first + settings.batch_size]
            yield batch, generator.generate([Request(s.sample_id, prefix[s.sample_id], s.suffix) for s in batch],
                                            sampling, settings.max_new_tokens, settings.batch_size)
