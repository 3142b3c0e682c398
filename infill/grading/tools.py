"""What graders share in one run: the sandbox (started on first use), the verdicts kept on disk, the exact-match rule
that decides pass/xfail. Built once from the run configuration; each benchmark kind's grader takes what it needs."""

from __future__ import annotations

import threading
from pathlib import Path

from infill.grading.exact_match import EM_RULES, Rule
from infill.grading.execution import SandboxConfig, SandboxPool
from infill.grading.verdict_cache import VerdictCache


class GradingTools:
    def __init__(self, sandbox: SandboxConfig | None = None, em_rule: str = "first_line",
                 verdict_dir: Path | None = None):
        self.sandbox_config = sandbox or SandboxConfig()
        self.em_rule: Rule = EM_RULES[em_rule]
        self.verdict_dir = verdict_dir      # execution verdicts kept on disk (VerdictCache); None: not kept
        self._pool: SandboxPool | None = None
        self._verdicts: VerdictCache | None = None
        self._lock = threading.Lock()

    @property
    def pool(self) -> SandboxPool:
        """The sandbox, started on first use (a run of exact-match benchmarks never starts it)."""
        with self._lock:
            if self._pool is None:
                self._pool = SandboxPool(self.sandbox_config)
            return self._pool

    @property
    def verdicts(self) -> VerdictCache | None:
        if self._verdicts is None and self.verdict_dir is not None:
            self._verdicts = VerdictCache(self.verdict_dir, self.sandbox_config, self.pool.isolation)
        return self._verdicts

    def close(self) -> None:
        if self._verdicts is not None:
            self._verdicts.flush()
        if self._pool is not None:
            self._pool.close()
            self._pool = None
