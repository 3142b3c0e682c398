"""Analyses that explain the results, above all the perplexity ensemble: multi-model agreement and the oracle
(agreement), the ensemble's selection and whether perplexity predicts correctness (ensemble), the statistics
behind them (significance), figures (plots), the per-sample ensemble files (published) and report.md's section
(render). `artefacts.write_analyses` runs them all for the report."""

from infill.reporting.analysis.artefacts import (
    ANALYSIS_VERSION,
    compute_analyses,
    write_analyses,
)
from infill.reporting.analysis.render import render_analyses

__all__ = ["ANALYSIS_VERSION", "compute_analyses", "write_analyses", "render_analyses"]
