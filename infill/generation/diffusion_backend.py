"""The masked-diffusion backend: Open-dCoder's canvas and sampler (infill.generation.diffusion) under a length policy
(infill.generation.length): one `MODEL/POLICY` row per policy."""

from __future__ import annotations

from infill.benchmarks import kind_of
from infill.benchmarks.sample import Sample
from infill.generation.length import LengthPolicy, choose_by_confidence
from infill.models.prompt_formats import DIFFUSION_CANVAS
from infill.models.registry import ModelSpec

# The sampler's version (infill.generation.diffusion), here so that describing a run does not import torch: bump it
# whenever the sampler can produce another completion.
# v2: float32 schedule counts, the reference's tie order, entropy clamp 1e-10, top-p / top-k / temperature in the
# logits' dtype with the reference's cumulative rule, top-n confidences rounded to the logits' dtype
SAMPLER_VERSION = "mdm-v2"


def diffusion_prefix(sample: Sample) -> str:
    """The canvas's prefix, as the sample's benchmark kind builds it."""
    return kind_of(sample.benchmark).diffusion_prefix(sample)


class DiffusionBackend:
    def __init__(self, spec: ModelSpec, length_policy: LengthPolicy):
        self.spec, self.policy = spec, length_policy

    def describe(self) -> dict:
        return {"backend": SAMPLER_VERSION, "prompt_format": f"{DIFFUSION_CANVAS.name}@{DIFFUSION_CANVAS.version}",
                "length_policy": f"{self.policy.name}@{self.policy.version}"}

    def provenance(self) -> dict:
        return {"backend": SAMPLER_VERSION, "prompt_format_version": DIFFUSION_CANVAS.version,
                "length_policy": {"name": self.policy.name, "version": self.policy.version,
                                  "uses_ground_truth": self.policy.uses_ground_truth}}

    def resolve(self, loaded, settings, command_line: dict):
        """The sampler's settings are the run's own (nothing comes from the model's files)."""
        return settings, {}

    def generate(self, loaded, samples: list[Sample], settings, partial=None):
        from infill.generation.diffusion import DiffusionInfiller, DiffusionRequest

        infiller = DiffusionInfiller(loaded.model, loaded.tokenizer)
        sampler, policy = settings.sampler(), self.policy
        rows_per_sample, finished_rows = len(policy.lengths) if policy.kind == "confidence" else 1, [0]

        def rows_done(count: int) -> None:      # a batch runs for tens of seconds: say how far it got
            finished_rows[0] += count
            if partial is not None:
                partial(min(finished_rows[0] / rows_per_sample, len(batch) - 1))
        infiller.on_rows_done = rows_done
        encode = lambda text: loaded.tokenizer.encode(text, add_special_tokens=False, split_special_tokens=True)
        ordered = sorted(samples, key=lambda s: (-len(encode(s.prefix + s.suffix)), s.sample_id))
        step = max(1, settings.batch_size // max(1, len(policy.lengths)))
        for first in range(0, len(ordered), step):
            batch, finished_rows[0] = ordered[first:first + step], 0
            if policy.kind == "confidence":
                requests = [DiffusionRequest(s.sample_id, diffusion_prefix(s), s.suffix, n)
                            for s in batch for n in policy.lengths]
                texts, scores = infiller.infill(requests, sampler, settings.batch_size, with_confidence=True)
                k = len(policy.lengths)
                yield batch, [choose_by_confidence(list(zip(policy.lengths, texts[i * k:(i + 1) * k],
                                                            scores[i * k:(i + 1) * k]))) for i in range(len(batch))]
            else:
                lengths = [len(encode(s.canonical)) if policy.kind == "oracle" else policy.lengths[0] for s in batch]
                yield batch, infiller.infill([DiffusionRequest(s.sample_id, diffusion_prefix(s), s.suffix, n)
                                              for s, n in zip(batch, lengths)], sampler, settings.batch_size)
