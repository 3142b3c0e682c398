"""infill-bench: a pytest-driven benchmark suite for code infilling (fill-in-the-middle).

Data flow, one module per step:
dataset (`benchmarks`) -> completion source (`replay`, later live generation) ->
grading (`grading`) -> record (`records`) -> report (`report`), wired into pytest by `plugin`.
"""

__version__ = "0.1.0"
