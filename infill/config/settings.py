"""Generation settings as plain data (no torch): what a live model runs with for one benchmark kind under one
profile. A benchmark kind carries one `KindSettings` per profile (infill.benchmarks.kind); a profile names the
models; command-line overrides replace single fields (`KindSettings.with_overrides`)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class GenerationConfig:
    """An autoregressive FIM model's settings. A sampling setting left None is resolved as `model.generate` does:
    from the model's generation_config.json, else transformers' default (infill.generation.sampling_config)."""
    temperature: float = 0.6
    top_p: float | None = None
    top_k: int | None = None
    repetition_penalty: float | None = None
    do_sample: bool = True
    stop_token_ids: tuple[int, ...] = ()      # besides the prompt format's: the model's own eos ids (resolved)
    max_new_tokens: int = 512
    seed: int = 0
    postprocess: str = "none"
    batch_size: int = 64


ALGORITHMS = ("p2", "p2_remask", "maskgit_plus", "topk_margin", "entropy", "origin")   # the sampler's


@dataclass(frozen=True)
class DiffusionSettings:
    """The masked-diffusion sampler's own settings (infill.generation.diffusion)."""
    steps: int = 64
    temperature: float = 0.6
    top_p: float = 0.95
    top_k: int = 0
    alg: str = "p2"
    alg_temp: float = 0.0
    eps: float = 1e-3
    seed: int = 0
    window: tuple[int, int] | None = None       # (prefix, suffix) tokens kept; None: the reference canvas


@dataclass(frozen=True)
class DiffusionConfig(DiffusionSettings):
    """The sampler's settings plus what the engine needs around them."""
    postprocess: str = "none"
    batch_size: int = 16

    def sampler(self) -> DiffusionSettings:
        return DiffusionSettings(**{f.name: getattr(self, f.name) for f in fields(DiffusionSettings)})


@dataclass(frozen=True)
class KindSettings:
    """One benchmark kind's settings under one profile: for AR models and for diffusion models."""
    ar: GenerationConfig
    diffusion: DiffusionConfig

    def for_backend(self, backend: str, overrides: dict):
        """The settings of `backend` ("ar-fim" or "diffusion") with the fields of `overrides` it has replaced."""
        base = self.diffusion if backend == "diffusion" else self.ar
        return replace(base, **{k: v for k, v in overrides.items() if hasattr(base, k)})
