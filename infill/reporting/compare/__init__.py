"""Compare benchmark runs: `infill-bench compare RUN_A RUN_B [RUN_C ...] [-o diff.md] [--fail-on-regression]`.

A RUN is a report directory (summary.json, and samples.jsonl when present) or a summary.json. The first run is
the baseline; each other run is compared with it, figure by figure ((benchmark, model, metric) rows of
summary.json `results`), and the comparison is written as Markdown in the report's style (stdout, or `-o FILE`).

For each row present in both runs: both values on the samples the difference is computed on (each run's full value
beside it when they differ), the difference (run - baseline) with a 95% interval, a p-value and whether the
difference is significant (p < --alpha, default 0.05):
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

from infill.reporting.compare.cli import main

__all__ = ["main"]
