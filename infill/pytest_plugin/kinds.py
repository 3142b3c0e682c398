"""Every selected benchmark needs a test function of its kind (`@pytest.mark.infill(kind=...)` in bench_tests):
a kind without one would silently collect no case."""

from __future__ import annotations

import pytest

from infill.benchmarks import KINDS, kind_of

SEEN = pytest.StashKey[set]()


def note_test_function(config: pytest.Config, kind: str | None) -> None:
    from infill.errors import InfillUsageError
    from infill.pytest_plugin.options import usage_exit
    if kind not in KINDS:
        usage_exit(InfillUsageError(f"a test function is marked @pytest.mark.infill(kind={kind!r}), which is no "
                                    f"registered benchmark kind: choose from {', '.join(KINDS)}"), config=config)
    config.stash.setdefault(SEEN, set()).add(kind)


def check_test_functions(config: pytest.Config, run) -> None:
    """After collection: a benchmark whose kind has no collected test function is a usage error when it was asked
    for by name, else a note in the report (e.g. `pytest bench_tests/test_humaneval_infill.py` on the default
    selection)."""
    from infill.errors import InfillUsageError
    from infill.pytest_plugin.options import usage_exit
    seen = config.stash.get(SEEN, set())
    if not seen:                                # no benchmark test function collected (unit tests, timings)
        return
    missing = [b for b in run.benchmarks if kind_of(b).name not in seen]
    if missing and run.explicit_benchmarks:
        usage_exit(InfillUsageError(f"--infill-benchmarks {','.join(missing)}: no collected test function of kind "
                                    f"{', '.join(dict.fromkeys(kind_of(b).name for b in missing))}: add one to "
                                    f"bench_tests (@pytest.mark.infill(kind=...)) or collect the file that has it"),
                   config=config)
    if missing:
        run.notes.append(f"Not run: {', '.join(missing)} (no test function of their kind was collected).")
