"""Length policies for masked-diffusion infilling: how many mask tokens the canvas gets. Explicit and reported,
because the published setting (`oracle`) uses the ground truth's length, which leaks part of the answer.

- `oracle`: the token count of the canonical middle (Open-dLLM's default, the published figures).
- `fixed:N`: N masks for every sample.
- `confidence:L1,L2,...` (default candidates 4,8,12,16,24): needs no ground truth. The sample is infilled at each
  candidate length and the completion whose tokens the model finds most likely on the final canvas (mean
  log-probability) is kept; ties go to the shorter. Too-long canvases fill with extra text, so it is meant to be
  used with a trimming post-processing rule (`first_line` on single-line benchmarks).
"""

from __future__ import annotations

from dataclasses import dataclass

from infill.errors import InfillUsageError

DEFAULT_CANDIDATES = (4, 8, 12, 16, 24)


@dataclass(frozen=True)
class LengthPolicy:
    kind: str                        # oracle | fixed | confidence
    lengths: tuple[int, ...] = ()
    version: str = "length-v1"

    @property
    def name(self) -> str:
        if self.kind == "oracle":
            return "oracle"
        return f"{self.kind}:{','.join(map(str, self.lengths))}"

    @property
    def label(self) -> str:
        """Short form used in model names: open-dcoder-0.5b/oracle, .../fixed16, .../confidence."""
        return {"oracle": "oracle", "fixed": f"fixed{self.lengths[0] if self.lengths else ''}"}.get(self.kind, "confidence")

    @property
    def uses_ground_truth(self) -> bool:
        return self.kind == "oracle"


def parse_length_policy(text: str) -> LengthPolicy:
    kind, _, rest = text.strip().partition(":")
    try:
        lengths = tuple(int(v) for v in rest.split(",") if v.strip())
    except ValueError:
        lengths = (-1,)
    if kind == "oracle" and not rest:
        return LengthPolicy("oracle")
    if kind == "fixed" and len(lengths) == 1 and lengths[0] > 0:
        return LengthPolicy("fixed", lengths)
    if kind == "confidence" and all(n > 0 for n in lengths):
        return LengthPolicy("confidence", tuple(sorted(set(lengths))) or DEFAULT_CANDIDATES)
    raise InfillUsageError(f"length policy {text!r}: use oracle, fixed:N or confidence[:L1,L2,...] with "
                           f"positive whole numbers")


def choose_by_confidence(candidates: list[tuple[int, str, float]]) -> str:
    """(length, completion, mean log-prob) -> the completion with the highest mean log-prob, shorter on ties."""
    return max(candidates, key=lambda c: (c[2], -c[0]))[1]
