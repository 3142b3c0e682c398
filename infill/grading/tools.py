"""What graders share in one run: the sandbox (started on first use), the verdicts kept on disk, the exact-match rule
that decides pass/xfail. Built once from the run configuration; each benchmark kind's grader takes what it needs."""

from __future__ import annotations

import threading
from pathlib import Path

from infill.grading.exact_match import EM_RULES, Rule
from infill.grading.execution import SandboxConfig, SandboxPool
from infill.grading.slow_programs import SlowPrograms
from infill.grading.verdict_cache import VerdictCache


class GradingTools:
    def __init__(self, sandbox: SandboxConfig | None = None, em_rule: str = "first_line",
                 verdict_dir: Path | None = None):
        self.sandbox_config = sandbox or SandboxConfig()
        self.em_rule: Rule = EM_RULES[em_rule]
        self.verdict_dir = verdict_dir      # execution verdicts kept on disk (VerdictCache); None: not kept
        self._pool: SandboxPool | None = None
        self._verdicts: VerdictCache | None = None
        self._slow_programs: SlowPrograms | None = None
        self._exec_pool = None                # the multi-language engine (SAFIM), started on first use
        self._outcomes = None
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

    @property
    def slow_programs(self) -> SlowPrograms | None:
        """Programs that timed out before, started first (never served as verdicts); None without a cache."""
        if self._slow_programs is None and self.verdicts is not None:
            self._slow_programs = SlowPrograms(self.verdict_dir, self.verdicts.store.components,
                                               self.verdicts.store.enabled)
        return self._slow_programs

    @property
    def exec_pool(self):
        """The multi-language engine: compile caches beside the verdicts (none kept without a cache folder)."""
        with self._lock:
            if self._exec_pool is None:
                from infill.grading.multilang import ExecPool, PoolConfig
                cache = str(self.verdict_dir / "multilang") if self.verdict_dir is not None else None
                self._exec_pool = ExecPool(PoolConfig(workers=self.sandbox_config.workers,
                                                      isolation=self.sandbox_config.isolation, cache_dir=cache))
            return self._exec_pool

    @property
    def outcomes(self):
        if self._outcomes is None:
            from infill.grading.outcome_cache import OutcomeCache
            self._outcomes = OutcomeCache(self.verdict_dir, self.exec_pool.isolation, self.exec_pool.rule_version)
        return self._outcomes

    def close(self) -> None:
        if self._outcomes is not None:
            self._outcomes.flush()
        if self._exec_pool is not None:
            self._exec_pool.close()
            self._exec_pool = None
        if self._verdicts is not None:
            self._verdicts.flush()
        if self._pool is not None:
            self._pool.close()
            self._pool = None
