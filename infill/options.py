"""The command line: infill-bench's pytest options, how they are read, the run's session built from them, and
the one-line exit for a usage error (exit code 2)."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from infill.errors import InfillUsageError
from infill.session import InfillSession

DEFAULT_REPORT_DIR = Path("reports") / "latest"
TIMINGS_REPORT_DIR = Path("reports") / "timings"        # default when a run has timings and no benchmark case

OPTIONS = [  # (name, ini/dest, help, default); every option also reads an ini key of the same name
    ("--infill-replay", "infill_replay", "MODEL=PATH (or MODEL:BENCHMARK=PATH): grade recorded generations; "
     "PATH is a generations file or a folder of them; repeatable", None),
    ("--infill-models", "infill_models", "comma-separated models to run: replayed ones, the embedded recorded "
     "ones, or 'canonical' (the ground truth, a grader self-check)", None),
    ("--infill-benchmarks", "infill_benchmarks", "comma-separated benchmarks or groups (humaneval, santacoder, "
     "all); default: what the selected models have", None),
    ("--infill-limit", "infill_limit", "grade only the first N samples of each benchmark", None),
    ("--infill-report-dir", "infill_report_dir", f"where report.md, summary.json, samples.jsonl go "
     f"(default {DEFAULT_REPORT_DIR})", None),
    ("--infill-em-rule", "infill_em_rule", "exact-match rule that decides pass/xfail on SantaCoder-FIM: "
     "first_line or full (both are always reported)", "first_line"),
    ("--infill-timeout", "infill_timeout", "seconds per HumanEval-Infill program (reference: 3.0)", "3.0"),
    ("--infill-workers", "infill_workers", "sandbox worker processes (default: CPU count)", "0"),
    ("--infill-isolation", "infill_isolation", "auto, bwrap or rlimits", "auto"),
    ("--infill-profile", "infill_profile", "paper (published setups, real weights) or tiny (shipped smoke models on "
     "CPU); default: paper with a GPU, tiny without", None),
    ("--infill-temperature", "infill_temperature", "sampling temperature for live models (0: greedy)", None),
    ("--infill-top-p", "infill_top_p", "nucleus sampling threshold for live models", None),
    ("--infill-max-new-tokens", "infill_max_new_tokens", "new tokens per completion for AR models", None),
    ("--infill-seed", "infill_seed", "seed; each sample has its own random stream derived from it", None),
    ("--infill-batch-size", "infill_batch_size", "generation batch size (halved on out-of-memory)", None),
    ("--infill-steps", "infill_steps", "diffusion steps (paper: 64)", None),
    ("--infill-alg", "infill_alg", "diffusion algorithm: p2, p2_remask, maskgit_plus, topk_margin, entropy, origin",
     None),
    ("--infill-alg-temp", "infill_alg_temp", "diffusion selection temperature (Gumbel-top-k when > 0)", None),
    ("--infill-length-policies", "infill_length_policies", "diffusion canvas lengths, comma-separated: oracle, "
     "fixed:N, confidence[:L1,...] (default: oracle,confidence); each is its own MODEL/POLICY row", None),
    ("--infill-postprocess", "infill_postprocess", "none or first_line (overrides the profile)", None),
    ("--infill-dtype", "infill_dtype", "float32, bfloat16 or float16 (default: bf16 on GPU, fp32 on CPU)", None),
    ("--infill-cache-dir", "infill_cache_dir", "generation cache folder (default .infill-cache)", None),
    ("--infill-ensemble", "infill_ensemble", "NAME=MODEL+MODEL[+...]: a perplexity ensemble of these models "
     "(a diffusion member names its length policy, e.g. tiny-qwen2-diffusion/oracle); repeatable", None),
    ("--infill-ensemble-scorer", "infill_ensemble_scorer", "SCORER:MODEL[+SCORER:MODEL]: what ranks the "
     "ensemble's candidates; scorers ar_plain (published), ar_fim, diffusion (default: the profile's)", None),
    ("--infill-ensemble-combine", "infill_ensemble_combine", "how several scorers' perplexities combine: min, "
     "mean, harmonic", "min"),
    ("--infill-ensemble-strategies", "infill_ensemble_strategies", "comma-separated strategies, each its own row "
     "NAME/STRATEGY: lowest-perplexity (published), calibrated, routed, oracle (an upper bound)", None),
    ("--infill-gates", "infill_gates", "TOML file of regression gates (thresholds per benchmark, model and metric; "
     "see infill/gates/ and gates/); checked after the report, a failing gate exits 1", None),
]
FLAGS = [("--infill-no-cache", "infill_no_cache", "generate, score and grade without reading or writing the cache "
          "(generations, scores, verdicts)"),
         ("--infill-refresh-cache", "infill_refresh_cache", "discard this run's cached generations and regenerate"),
         ("--infill-sequential-models", "infill_sequential_models", "hold one model in memory at a time "
          "(generate, free, load the next; for small GPUs)")]


def add_options(parser: pytest.Parser) -> None:
    """The plugin's pytest_addoption."""
    group = parser.getgroup("infill", "infill-bench")
    for name, dest, help_text, _ in OPTIONS:
        if name in ("--infill-replay", "--infill-ensemble"):
            group.addoption(name, dest=dest, action="append", default=None, help=help_text,
                            metavar="MODEL=PATH" if name == "--infill-replay" else "NAME=MODEL+MODEL")
            parser.addini(dest, help_text, type="linelist")
        else:
            group.addoption(name, dest=dest, default=None, help=help_text)
            parser.addini(dest, help_text)
    group.addoption("--infill-model-path", dest="infill_model_path", action="append", default=None,
                    metavar="NAME=DIR", help="load a registered model from this local folder; repeatable")
    parser.addini("infill_model_path", "NAME=DIR lines", type="linelist")
    for name, dest, help_text in FLAGS:
        group.addoption(name, dest=dest, action="store_true", default=None, help=help_text)
        parser.addini(dest, help_text, type="bool", default=False)
    group.addoption("--infill-timings", action="store_true", default=False,
                    help="run the timing benchmarks (pytest-benchmark) in bench_tests")
    group.addoption("--infill-shard", "--shard", dest="infill_shard", default=None, metavar="I/N",
                    help="run only shard I of N: a stable split of the selected samples (after --infill-limit) "
                         "by a hash of benchmark and sample id; merge the N reports with ./infill-bench merge")
    parser.addini("infill_shard", "I/N: run only this shard of the selected samples")


def option(config: pytest.Config, dest: str):
    """Command line first, then the ini key, then the built-in default."""
    value = config.getoption(dest)
    if value is None:
        value = config.getini(dest) or None
    if value is None:
        value = next((default for _, d, _, default in OPTIONS if d == dest), None)
    return value


def report_dir(config: pytest.Config, default: Path) -> Path:
    """--infill-report-dir (relative to where pytest was started), else `default`."""
    directory = Path(option(config, "infill_report_dir") or default)
    return directory if directory.is_absolute() else config.invocation_params.dir / directory


class UsageExit(pytest.exit.Exception):
    """pytest.exit for a usage error. When it is raised in pytest_sessionstart, pytest itself writes
    `{type(exc).__name__}: {exc.msg}` to stderr; this class's name makes that line `infill-bench: error: ...`, the
    one line a user sees (a plain pytest.exit would add `Exit: ...` beside ours)."""


UsageExit.__name__ = UsageExit.__qualname__ = "infill-bench"
UsageExit.__module__ = "builtins"   # pytest's own `! ... !` line on stdout then reads `infill-bench: error: ...` too


def usage_exit(error: InfillUsageError, at_session_start: bool = False) -> None:
    """Stop the run: one line `infill-bench: error: ...` on stderr, exit code 2."""
    if not at_session_start:        # later on (a test, collection) pytest writes nothing to stderr: we do
        sys.stderr.write(f"infill-bench: error: {error}\n")
        sys.stderr.flush()
    raise UsageExit(f"error: {error}", returncode=2)


@dataclass
class SessionHolder:
    """Builds the InfillSession on first use, so that runs without benchmark cases (tests/) pay nothing."""
    config: pytest.Config
    session: InfillSession | None = None

    def get(self, at_session_start: bool = False) -> InfillSession:
        if self.session is None:
            try:
                self.session = InfillSession.from_options(lambda dest: option(self.config, dest),
                                                          self.config.rootpath, progress=self.progress)
            except InfillUsageError as error:
                usage_exit(error, at_session_start)
        return self.session

    def progress(self, message: str) -> None:
        """Generation progress, shown live even while pytest captures the test's output."""
        capture = self.config.pluginmanager.getplugin("capturemanager")
        reporter = self.config.pluginmanager.getplugin("terminalreporter")
        if reporter is None or hasattr(self.config, "workerinput"):
            return
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            reporter.write_line(f"[infill] {message}")


SESSION = pytest.StashKey[SessionHolder]()
