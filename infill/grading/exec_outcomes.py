"""ExecEval's outcome names for a program run on unit tests (exec_utils.py ExecOutcome): what the multi-language
engine grades (``multilang.verdicts``) and what SAFIM's rules read (``benchmarks.safim.outcomes``). No imports, so
that SAFIM's rules take the names without loading the engine."""

PASSED = "PASSED"
WRONG_ANSWER = "WRONG_ANSWER"
TIME_LIMIT_EXCEEDED = "TIME_LIMIT_EXCEEDED"
RUNTIME_ERROR = "RUNTIME_ERROR"
COMPILATION_ERROR = "COMPILATION_ERROR"
MEMORY_LIMIT_EXCEEDED = "MEMORY_LIMIT_EXCEEDED"
EXEC_OUTCOMES = (PASSED, WRONG_ANSWER, TIME_LIMIT_EXCEEDED, RUNTIME_ERROR, COMPILATION_ERROR, MEMORY_LIMIT_EXCEEDED)
