"""Post-processing policies applied to a raw generation before grading. Named and versioned: the name and
version go into the generation cache key and the report.

- `none`: the published setup; the completion is graded verbatim.
- `first_line`: keep through the first newline, and make sure the line ends with one (HumanEval-Infill
  single-line programs break without it: 460/1033 canonical lines pass without their newline).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


def keep_verbatim(text: str) -> str:
    return text


def keep_first_line(text: str) -> str:
    head, newline, _ = text.partition("\n")
    return head + "\n"


@dataclass(frozen=True)
class Postprocess:
    name: str
    version: str
    apply: Callable[[str], str]
    stops_at_newline: bool        # generation may stop at the first newline without changing the result


POSTPROCESS: dict[str, Postprocess] = {p.name: p for p in [
    Postprocess("none", "none-v1", keep_verbatim, stops_at_newline=False),
    Postprocess("first_line", "first-line-v1", keep_first_line, stops_at_newline=True),
]}
