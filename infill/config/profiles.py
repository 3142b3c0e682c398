"""Named profiles: which live models run by default, their length policies and perplexity ensembles. Each benchmark
kind carries its own generation settings per profile (infill.benchmarks.kind.BenchmarkKind.settings).

- `paper` reruns what the recorded figures ran (shared docs/evaluation-rules.md, open-dllm.md): the AR models with
  `generate`'s own sampling resolution (their generation_config.json), Qwen2.5-Coder-1.5B-Instruct for the
  recorded "Qwen 2.5 Coder 1.5B" row, and Open-dCoder with the re-masking p2 of the recorded rerun. It needs the
  real weights and is the default on a GPU.
- `open-dllm-readme` is `paper` with Open-dCoder's original p2, the setup of the Open-dLLM README figures
  (77.4 / 56.4).
- `tiny` runs the shipped smoke models on CPU: scores near zero by design. The default without a GPU.
The default run adds the profile's perplexity ensembles (each strategy a row `NAME/STRATEGY`). Diffusion models run
under every length policy of the profile (oracle beside a non-oracle one), each reported as its own row
`MODEL/POLICY`. Command-line settings (`--infill-temperature` ...) override the profile for every kind.
"""

from __future__ import annotations

from dataclasses import dataclass

from infill.errors import InfillUsageError, choose_from


@dataclass(frozen=True)
class Profile:
    name: str
    models: tuple[str, ...]
    length_policies: tuple[str, ...] = ("oracle", "confidence")             # diffusion: oracle beside non-oracle
    description: str = ""
    # Perplexity ensembles of the default run (NAME=MEMBER+MEMBER), the scorer(s) that rank their candidates and
    # the strategies reported as rows. `recorded-ensemble` combines two of the shipped real recordings.
    ensembles: tuple[str, ...] = ()
    ensemble_scorer: str = "ar_plain:qwen2.5-coder-1.5b"
    ensemble_strategies: tuple[str, ...] = ("lowest-perplexity", "calibrated", "routed")
    score_context_lines: tuple[int, int] | None = None      # AR scorers: (prefix, suffix) lines kept; None: all
    samples: int = 1                                        # completions per task for live models
    settings_from: str = ""                                 # whose kind settings it uses (default: its own name)
    overrides: tuple[tuple[str, object], ...] = ()          # on top of those (the command line's win over these)

    @property
    def settings_name(self) -> str:
        return self.settings_from or self.name


PAPER_MODELS = ("open-dcoder-0.5b", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "qwen2.5-coder-1.5b-instruct",
                "deepseek-coder-1.3b-base", "starcoder2-3b")
PAPER_ENSEMBLES = ("ensemble=open-dcoder-0.5b/oracle+qwen2.5-coder-1.5b-instruct",
                   "recorded-ensemble=recorded-open-dcoder-0.5B+recorded-qwen2.5-coder-1.5b-instruct")

PROFILES: dict[str, Profile] = {p.name: p for p in [
    Profile("paper", PAPER_MODELS, description="the published reruns (Open-dCoder: re-masking p2); real weights, GPU "
            "recommended", ensembles=PAPER_ENSEMBLES, ensemble_scorer="ar_plain:qwen2.5-coder-1.5b"),
    Profile("open-dllm-readme", PAPER_MODELS, description="paper with Open-dCoder's original p2 (the Open-dLLM "
            "README figures)", ensembles=PAPER_ENSEMBLES, ensemble_scorer="ar_plain:qwen2.5-coder-1.5b",
            settings_from="paper", overrides=(("alg", "p2"),)),
    Profile("tiny", ("tiny-qwen2-fim", "tiny-qwen2-diffusion"),
            length_policies=("oracle", "confidence:6,12"),
            description="the shipped smoke models on CPU: scores near zero by design",
            ensembles=("ensemble=tiny-qwen2-diffusion/oracle+tiny-qwen2-fim",
                       "recorded-ensemble=recorded-open-dcoder-0.5B+recorded-qwen2.5-coder-1.5b-instruct"),
            ensemble_scorer="ar_plain:tiny-qwen2-fim", score_context_lines=(24, 8)),
]}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise InfillUsageError(choose_from("profile", name, PROFILES)) from None
