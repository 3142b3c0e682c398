"""Named profiles: which live models run and with which generation settings, per benchmark family.

- `paper` reproduces the published setups (AR models: temperature 0.6, 512 new tokens, no post-processing,
  batch 64; see shared docs/evaluation-rules.md). It needs the real weights and is the default on a GPU.
- `tiny` runs the shipped smoke models on CPU. They seldom emit end-of-text, so HumanEval-Infill completions
  keep their first line (`first_line`) and generation stops at the first newline; SantaCoder-FIM keeps the
  verbatim output (its EM rules take the line themselves). The default without a GPU.
The default run adds the profile's perplexity ensembles (each strategy a row `NAME/STRATEGY`).
Diffusion models run under every length policy of the profile (oracle beside a non-oracle one), each reported as
its own row `MODEL/POLICY`. Command-line settings (`--infill-temperature` ...) override the profile for every
family.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from infill.errors import InfillUsageError
from infill.generation.diffusion_settings import DiffusionSettings


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
class DiffusionConfig(DiffusionSettings):
    """The sampler's settings plus what the engine needs around them."""
    postprocess: str = "none"
    batch_size: int = 16

    def sampler(self) -> DiffusionSettings:
        return DiffusionSettings(**{f.name: getattr(self, f.name) for f in fields(DiffusionSettings)})


@dataclass(frozen=True)
class Profile:
    name: str
    models: tuple[str, ...]
    ar: dict[str, GenerationConfig] = field(default_factory=dict)          # benchmark family -> settings
    diffusion: dict[str, DiffusionConfig] = field(default_factory=dict)
    length_policies: tuple[str, ...] = ("oracle", "confidence")             # diffusion: oracle beside non-oracle
    description: str = ""
    # Perplexity ensembles of the default run (NAME=MEMBER+MEMBER), the scorer(s) that rank their candidates and
    # the strategies reported as rows. `recorded-ensemble` combines two of the shipped real recordings.
    ensembles: tuple[str, ...] = ()
    ensemble_scorer: str = "ar_plain:qwen2.5-coder-1.5b"
    ensemble_strategies: tuple[str, ...] = ("lowest-perplexity", "calibrated", "routed")
    score_context_lines: tuple[int, int] | None = None      # AR scorers: (prefix, suffix) lines kept; None: all

    def settings(self, family: str, overrides: dict, diffusion: bool = False):
        base = (self.diffusion if diffusion else self.ar)[family]
        known = {k: v for k, v in overrides.items() if hasattr(base, k)}
        return replace(base, **known)


PAPER_AR = GenerationConfig(temperature=0.6, top_p=1.0, max_new_tokens=512, postprocess="none", batch_size=64)
TINY_HUMANEVAL = GenerationConfig(temperature=0.6, top_p=0.95, max_new_tokens=48, postprocess="first_line",
                                  batch_size=32)
TINY_SANTACODER = GenerationConfig(temperature=0.6, top_p=0.95, max_new_tokens=24, postprocess="none",
                                   batch_size=32)

# Open-dCoder's published setup: p2, 64 steps, temperature 0.6, top-p 0.95, oracle length, nothing stripped.
PAPER_DIFFUSION = DiffusionConfig(steps=64, temperature=0.6, top_p=0.95, alg="p2", postprocess="none")
# The confidence length policy over-fills canvases, so single-line HumanEval keeps the first line. On CPU a step's
# cost is the model over the whole canvas, so the smoke runs keep 96 prefix and 32 suffix tokens around the hole,
# and take 16 steps (each step runs the model on every row it can change).
TINY_DIFFUSION_HUMANEVAL = replace(PAPER_DIFFUSION, steps=16, postprocess="first_line", batch_size=96,
                                   window=(96, 32))
TINY_DIFFUSION_SANTACODER = replace(PAPER_DIFFUSION, steps=16, batch_size=96, window=(96, 32))

PROFILES: dict[str, Profile] = {p.name: p for p in [
    Profile("paper", ("open-dcoder-0.5b", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "deepseek-coder-1.3b-base",
                      "starcoder2-3b"),
            {"humaneval-infill": PAPER_AR, "santacoder-fim": PAPER_AR},
            {"humaneval-infill": PAPER_DIFFUSION, "santacoder-fim": PAPER_DIFFUSION},
            description="published setups; real weights, GPU recommended",
            ensembles=("ensemble=open-dcoder-0.5b/oracle+qwen2.5-coder-1.5b",
                       "recorded-ensemble=open-dcoder-0.5B+qwen2.5-coder-1.5b-instruct"),
            ensemble_scorer="ar_plain:qwen2.5-coder-1.5b"),
    Profile("tiny", ("tiny-qwen2-fim", "tiny-qwen2-diffusion"),
            {"humaneval-infill": TINY_HUMANEVAL, "santacoder-fim": TINY_SANTACODER},
            {"humaneval-infill": TINY_DIFFUSION_HUMANEVAL, "santacoder-fim": TINY_DIFFUSION_SANTACODER},
            length_policies=("oracle", "confidence:6,12"),
            description="the shipped smoke models on CPU: scores near zero by design",
            ensembles=("ensemble=tiny-qwen2-diffusion/oracle+tiny-qwen2-fim",
                       "recorded-ensemble=open-dcoder-0.5B+qwen2.5-coder-1.5b-instruct"),
            ensemble_scorer="ar_plain:tiny-qwen2-fim", score_context_lines=(24, 8)),
]}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise InfillUsageError(f"unknown profile {name!r}: choose from {', '.join(PROFILES)}") from None
