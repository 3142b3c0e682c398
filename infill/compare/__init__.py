"""Compare benchmark runs: `python -m infill.compare RUN_A RUN_B [RUN_C ...] [-o diff.md] [--fail-on-regression]`.

A RUN is a report directory (summary.json, and samples.jsonl when present) or a summary.json. The first run is
the baseline; each other run is compared with it, figure by figure ((benchmark, model, metric) rows of
summary.json `results`), and the comparison is written as Markdown in the report's style (stdout, or `-o FILE`).

For each row present in both runs: both values, the difference (run - baseline) with a 95% interval, a p-value
and whether the difference is significant (p < --alpha, default 0.05):
- paired, when both runs have per-sample records (samples.jsonl) for the row: on the samples both graded, the
  Newcombe (1998, method 10) interval for a difference of paired proportions and McNemar's exact test. The same
  samples graded twice are strongly correlated, so this is far more sensitive than treating the runs as
  independent;
- unpaired otherwise: the Newcombe hybrid-score interval from the two Wilson intervals, and a pooled
  two-proportion z-test.
Then: rows in only one run, the samples that flipped (passed -> failed, failed -> passed; counts always, ids up to
--max-flips per group), timing medians when the summaries have a `timings` list, and a header naming the runs.

Exit status: 0 when the comparison was written; 1 with --fail-on-regression when some row dropped significantly
(delta < 0 and p < alpha; rows missing from a run do not count); 2 for bad input (a missing file, not a
summary.json, or runs that graded different benchmark data: not like with like), with one line on stderr.
"""

# McNemar's exact test is the project's one implementation (infill.analysis.significance), re-exported here for
# importers of infill.compare.
from infill.analysis.significance import mcnemar_exact
from infill.compare.cli import LABELS, MAX_FLIPS, main, parse_args
from infill.compare.diff import ALPHA, Comparison, Row, compare, compare_row, sample_outcome
from infill.compare.render import render, render_comparison, render_header
from infill.compare.runs import RESULT_KEYS, Run, check_like_with_like, load_run, load_samples
from infill.compare.stats import paired_interval, two_proportion_p, unpaired_interval

__all__ = ["ALPHA", "LABELS", "MAX_FLIPS", "RESULT_KEYS", "Comparison", "Row", "Run", "check_like_with_like",
           "compare", "compare_row", "load_run", "load_samples", "main", "mcnemar_exact", "paired_interval",
           "parse_args", "render", "render_comparison", "render_header", "sample_outcome", "two_proportion_p",
           "unpaired_interval"]
