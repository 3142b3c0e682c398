"""Post-processing policies applied to a raw generation before grading. Named and versioned: the name and
version go into the generation cache key and the report.

- `none`: the published setup; the completion is graded verbatim.
- `first_line`: keep through the first newline, and make sure the line ends with one (HumanEval-Infill
  single-line programs break without it: 460/1033 canonical lines pass without their newline).
- `safim_syntax`: SAFIM's published syntax-aware truncation for the sample's split (tree-sitter;
  infill.benchmarks.safim): `truncate_line_until_block` (block), `truncate_control` (control), `truncate_api_call`
  (api).
Each policy is called with the raw text and the sample it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


def keep_verbatim(text: str, sample=None) -> str:
    return text


def truncate_as_safim(text: str, sample) -> str:
    from infill.benchmarks.safim import get_post_processor
    processor = get_post_processor(SAFIM_SPLIT_PROCESSORS[sample.task_type])
    return processor(text, lang=sample.language, eval_prompt=sample.extra["eval_prompt"])


def keep_first_line(text: str, sample=None) -> str:
    head, newline, _ = text.partition("\n")
    return head + "\n"


@dataclass(frozen=True)
class Postprocess:
    name: str
    version: str
    apply: Callable[..., str]                # (raw text, sample) -> completion
    stops_at_newline: bool        # generation may stop at the first newline without changing the result


POSTPROCESS: dict[str, Postprocess] = {p.name: p for p in [
    Postprocess("none", "none-v1", keep_verbatim, stops_at_newline=False),
    Postprocess("first_line", "first-line-v1", keep_first_line, stops_at_newline=True),
    Postprocess("safim_syntax", "safim-syntax-v1 (safim-truncate-block-v1, safim-truncate-control-v1, "
                "safim-truncate-api-v1)", truncate_as_safim, stops_at_newline=False),
]}
SAFIM_SPLIT_PROCESSORS = {"block": "truncate_line_until_block", "control": "truncate_control",
                          "api": "truncate_api_call"}
