"""The autoregressive FIM backend: the model's FIM prompt, batched generation with per-sample seeded streams
(infill.generation.ar)."""

from __future__ import annotations

from infill.benchmarks.sample import Sample
from infill.generation.postprocess import POSTPROCESS
from infill.models.prompt_formats import PROMPT_FORMATS
from infill.models.registry import ModelSpec

AR_BACKEND_VERSION = "ar-fim-v1"


class ARFimBackend:
    def __init__(self, spec: ModelSpec, length_policy=None):
        self.spec, self.prompt_format = spec, PROMPT_FORMATS[spec.prompt_format]

    def describe(self) -> dict:
        return {"backend": AR_BACKEND_VERSION, "prompt_format": f"{self.prompt_format.name}@{self.prompt_format.version}"}

    def provenance(self) -> dict:
        return {"backend": AR_BACKEND_VERSION, "prompt_format_version": self.prompt_format.version}

    def generate(self, loaded, samples: list[Sample], settings):
        from infill.generation.ar import ARFimGenerator, Request
        from infill.generation.sampling import SamplingSettings

        generator = ARFimGenerator(loaded.model, loaded.tokenizer, self.prompt_format,
                                   stop_at_newline=POSTPROCESS[settings.postprocess].stops_at_newline)
        sampling = SamplingSettings(settings.temperature, settings.top_p, settings.top_k, settings.seed)
        # Longest first (an out-of-memory shows in the first batch); rows of a batch need little padding.
        # Completions do not depend on the batch: each sample has its own random stream.
        lengths = {s.sample_id: generator.prompt_length(s.prefix, s.suffix) for s in samples}
        ordered = sorted(samples, key=lambda s: (-lengths[s.sample_id], s.sample_id))
        for first in range(0, len(ordered), settings.batch_size):
            batch = ordered[first:first + settings.batch_size]
            yield batch, generator.generate([Request(s.sample_id, s.prefix, s.suffix) for s in batch],
                                            sampling, settings.max_new_tokens, settings.batch_size)
