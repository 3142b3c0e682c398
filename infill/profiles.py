"""Named profiles: which live models run and with which generation settings, per benchmark family.

- `paper` reproduces the published setups (AR models: temperature 0.6, 512 new tokens, no post-processing,
  batch 64; see shared docs/evaluation-rules.md). It needs the real weights and is the default on a GPU.
- `tiny` runs the shipped smoke models on CPU. They seldom emit end-of-text, so HumanEval-Infill completions
  keep their first line (`first_line`) and generation stops at the first newline; SantaCoder-FIM keeps the
  verbatim output (its EM rules take the line themselves). The default without a GPU.
Command-line settings (`--infill-temperature` ...) override the profile for every family.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from infill.errors import InfillUsageError


@dataclass(frozen=True)
class GenerationConfig:
    temperature: float = 0.6
    top_p: float = 1.0
    top_k: int = 0
    max_new_tokens: int = 512
    seed: int = 0
    postprocess: str = "none"
    batch_size: int = 64


@dataclass(frozen=True)
class Profile:
    name: str
    models: tuple[str, ...]
    ar: dict[str, GenerationConfig] = field(default_factory=dict)    # benchmark family -> settings
    description: str = ""

    def settings(self, family: str, overrides: dict) -> GenerationConfig:
        return replace(self.ar[family], **overrides)


PAPER_AR = GenerationConfig(temperature=0.6, top_p=1.0, max_new_tokens=512, postprocess="none", batch_size=64)
TINY_HUMANEVAL = GenerationConfig(temperature=0.6, top_p=0.95, max_new_tokens=48, postprocess="first_line",
                                  batch_size=32)
TINY_SANTACODER = GenerationConfig(temperature=0.6, top_p=0.95, max_new_tokens=24, postprocess="none",
                                   batch_size=32)

PROFILES: dict[str, Profile] = {p.name: p for p in [
    Profile("paper", ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "deepseek-coder-1.3b-base", "starcoder2-3b"),
            {"humaneval-infill": PAPER_AR, "santacoder-fim": PAPER_AR},
            "published setups; real weights, GPU recommended"),
    Profile("tiny", ("tiny-qwen2-fim",), {"humaneval-infill": TINY_HUMANEVAL, "santacoder-fim": TINY_SANTACODER},
            "the shipped smoke models on CPU: scores near zero by design"),
]}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise InfillUsageError(f"unknown profile {name!r}: choose from {', '.join(PROFILES)}") from None
