"""The scorer registry: each scorer is one entry, and the entry is what callers call.

- `ar_plain` (the published design): the AR model reads `prefix + completion + suffix` as plain text; the score is
  the mean negative log-likelihood of the completion's tokens. The suffix cannot influence it (causal attention).
- `ar_fim`: the AR model reads its FIM prompt (prefix and suffix, ending with the middle sentinel) followed by the
  completion and the tokenizer's eos; the score is the mean NLL of the completion's tokens and that eos. So the
  suffix counts, and a completion that stops too early or runs on past its hole is penalised at the eos.
- `diffusion`: the masked-diffusion model's pseudo-log-likelihood (PLL), one model row per completion token.

Perplexity = exp(mean NLL); a completion with no scored token has perplexity inf (never preferred). The version goes
into the score cache key. The implementations import torch; this registry does not, so that options naming a
scorer are checked before torch loads.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from infill.scoring.scored import Scored


@dataclass(frozen=True)
class Scorer:
    name: str
    version: str
    backend: str                 # the model backend it needs: "ar-fim" or "diffusion" (infill.models.registry)
    implementation: str          # "module:function", called with the keyword arguments of __call__
    description: str = ""
    batch_scale: int = 1         # rows per forward relative to the run's scoring batch (diffusion: a row per token)

    def __call__(self, model, tokenizer, triples: list[tuple[str, str, str]], *, batch_size: int,
                 prompt_format=None, window: tuple[int, int] | None = None) -> list[Scored]:
        module, _, function = self.implementation.partition(":")
        score = getattr(importlib.import_module(module), function)
        return score(model, tokenizer, triples, batch_size=batch_size * self.batch_scale,
                     prompt_format=prompt_format, window=window)


SCORERS: dict[str, Scorer] = {s.name: s for s in (
    Scorer("ar_plain", "ar-plain-v1", "ar-fim", "infill.scoring.ar:ar_plain_scores",
           "AR model, prefix + completion + suffix as plain text; completion tokens only (suffix ignored)"),
    Scorer("ar_fim", "ar-fim-v1", "ar-fim", "infill.scoring.ar:ar_fim_scores",
           "AR model in its FIM format; completion tokens + eos (suffix counts, overruns are penalised)"),
    Scorer("diffusion", "diffusion-pll-v1", "diffusion", "infill.scoring.diffusion:diffusion_scores",
           "masked-diffusion pseudo-log-likelihood; one model row per completion token", batch_scale=4),
)}
