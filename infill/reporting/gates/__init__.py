"""Regression gates: thresholds on a run's aggregate figures (and samples that must pass), checked after the report.

A gates file is TOML (`--infill-gates FILE`, or the ini key `infill_gates`). It is read and validated when the
session starts, so a mistake in it stops the run with one line and exit code 2 before any sample is graded. After
the run, every gate is checked against summary.json's `results` and the per-sample records; the outcomes go into
report.md (a "## Gates" section), summary.json (`gates`) and the terminal, and a failing gate makes pytest exit
with status 1. xfailed samples (wrong completions) never fail a run by themselves: only gates do.

Schema (every key other than those listed is an error, so a typo cannot silently disable a check):

    [defaults]                 # optional; applies to every [[gate]] (tolerance, n, optional) and
    tolerance = 0.0            #   [[must_pass]] (optional) that does not set the key itself
    n = 1033
    optional = false

    [[gate]]                   # one threshold on one figure
    name = "..."               # optional; default "BENCHMARK / MODEL / METRIC"
    benchmark = "humaneval-single-line"     # a name from infill.benchmarks.BENCHMARKS (no groups)
    model = "open-dcoder-0.5B"              # a row of the report (MODEL, MODEL/POLICY, ENSEMBLE/STRATEGY)
    metric = "pass@1"          # the benchmark's metrics (pass@1; em_first_line, em_full), edit_similarity
                               #   (exact-match benchmarks), or a count: timeout, memory, missing, sandbox_error
    at_least = 0.7648          # higher is better: holds when measured >= at_least - tolerance
    # at_most = 0              # lower is better:  holds when measured <= at_most + tolerance (exactly one of them)
    tolerance = 0.002          # optional, >= 0, in the metric's unit (a fraction: 0.002 = 0.2 percentage points)
    n = 1033                   # optional: the sample count the threshold was written for
    optional = false           # optional: true = a missing result is skipped instead of failing
    note = "published: 790/1033"            # optional free text, shown in the report

    [[must_pass]]              # samples that must pass (a regression on a sample you care about)
    name = "..."               # optional
    benchmark = "humaneval-single-line"
    model = "open-dcoder-0.5B"
    samples = ["SingleLineInfilling/HumanEval/0/L0"]
    metric = "em_full"         # optional: on exact-match benchmarks, which rule; default: the test's verdict
    optional = false
    note = "..."

Thresholds are fractions in [0, 1] for scores (not percentages), counts for the count metrics; a score threshold
may also be written as the exact fraction "790/1033", which compares equal to a run that reproduces it.

Rules, each there so that a gate never passes without having checked something:
- `n`: a gate written for the full benchmark must not be judged on an `--infill-limit` or `-k` subset. When the
  run's n differs from the gate's, the gate FAILS and says so (use a gates file written for that subset).
- A gate whose (benchmark, model, metric) has no result in the run FAILS, unless it says `optional = true`
  (then it is reported as SKIP).
- A `must_pass` sample that the run did not grade (outside --infill-limit or -k) fails like a wrong one.
- Comparisons allow 1e-9 for floating-point rounding; tolerances are the place for real slack.
"""

from infill.reporting.gates.evaluate import FLOAT_SLACK, LISTED_SAMPLES, evaluate_gates
from infill.reporting.gates.load import FRACTION_TEXT, load_gates
from infill.reporting.gates.render import (
                               markdown_lines,
                               outcomes_json,
                               tally,
                               terminal_lines,
)
from infill.reporting.gates.spec import (
                               COUNT_METRICS,
                               DEFAULT_KEYS,
                               GATE_KEYS,
                               MUST_PASS_KEYS,
                               TOP_LEVEL_KEYS,
                               Gate,
                               GateOutcome,
                               GateSet,
                               MustPass,
                               allowed_metrics,
)

__all__ = ["COUNT_METRICS", "DEFAULT_KEYS", "FLOAT_SLACK", "FRACTION_TEXT", "GATE_KEYS", "LISTED_SAMPLES",
           "MUST_PASS_KEYS", "TOP_LEVEL_KEYS", "Gate", "GateOutcome", "GateSet", "MustPass", "allowed_metrics",
           "evaluate_gates", "load_gates", "markdown_lines", "outcomes_json", "tally", "terminal_lines"]
