"""Multi-language execution for SAFIM (issue 14): ExecEval's compile/run/compare rules without Docker.

Public API: ``ExecPool``, ``PoolConfig``, ``Job``, ``Outcome``, ``RULE_VERSION``, ``ToolchainUnavailable``,
``SandboxFailure`` and the verdict names (``verdicts.VERDICTS``). See pool.py.
"""
from infill.grading.multilang.pool import RULE_VERSION, ExecPool, Job, PoolConfig, SandboxFailure, ToolchainUnavailable
from infill.grading.multilang.slot import Outcome
from infill.grading.multilang.verdicts import (
                                           COMPILATION_ERROR,
                                           MEMORY_LIMIT_EXCEEDED,
                                           PASSED,
                                           RUNTIME_ERROR,
                                           TIME_LIMIT_EXCEEDED,
                                           VERDICTS,
                                           WRONG_ANSWER,
)

__all__ = ["COMPILATION_ERROR", "MEMORY_LIMIT_EXCEEDED", "PASSED", "RULE_VERSION", "RUNTIME_ERROR",
           "TIME_LIMIT_EXCEEDED", "VERDICTS", "WRONG_ANSWER", "ExecPool", "Job", "Outcome", "PoolConfig",
           "SandboxFailure", "ToolchainUnavailable"]
