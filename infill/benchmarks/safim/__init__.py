"""SAFIM's published evaluation rules and post-processors (gonglinyuan/safim), named and versioned.

The benchmark definition calls these; FACTS.md beside this file lists what SAFIM's code says about prompts,
generation settings, ids and published figures, with the source line of each fact.
"""

from infill.benchmarks.safim.block_truncation import EmptyHoleDoesNotParse, truncate_line_until_block
from infill.benchmarks.safim.detailed_results import (
                                                      FAILURE_COLUMNS,
                                                      PUBLISHED_ROWS,
                                                      RATE_COLUMNS,
                                                      detailed_results_row,
                                                      failure_category,
)
from infill.benchmarks.safim.grammars import LANGUAGES, grammar_versions, unpinned_grammars
from infill.benchmarks.safim.matching import ground_truth_shortcut, syntax_match
from infill.benchmarks.safim.outcomes import SafimVerdict, is_empty_failure, is_python_compilation_error, safim_verdict
from infill.benchmarks.safim.program import assemble_program, infilling_parts, split_at_placeholder
from infill.benchmarks.safim.registry import (
                                                      EVALUATION_RULES,
                                                      POST_PROCESSORS,
                                                      PostProcessor,
                                                      SafimRule,
                                                      apply_post_processors,
                                                      get_post_processor,
                                                      rules_record,
)
from infill.benchmarks.safim.syntax_tree import parses_cleanly
from infill.benchmarks.safim.text_truncation import truncate_api_call, truncate_control, truncate_to_first_line

__all__ = [
    "EVALUATION_RULES", "FAILURE_COLUMNS", "LANGUAGES", "POST_PROCESSORS", "PUBLISHED_ROWS", "RATE_COLUMNS",
    "EmptyHoleDoesNotParse", "PostProcessor", "SafimRule", "SafimVerdict", "apply_post_processors",
    "assemble_program", "detailed_results_row", "failure_category", "get_post_processor", "grammar_versions",
    "ground_truth_shortcut", "infilling_parts", "is_empty_failure", "is_python_compilation_error",
    "parses_cleanly", "rules_record", "safim_verdict", "split_at_placeholder", "syntax_match",
    "truncate_api_call", "truncate_control", "truncate_line_until_block", "truncate_to_first_line",
    "unpinned_grammars",
]
