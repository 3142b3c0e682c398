"""`--benchmark-compare-fail` (pytest-benchmark) with the infill plugin: a failed threshold is one line and exit code
1, not pytest-benchmark's traceback; and tox runs what `./infill-bench test` runs."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from infill.pytest_plugin.regressions import MESSAGE, describe

ROOT = Path(__file__).resolve().parent.parent

TRIVIAL_BENCHMARK = '''
import os
import time


def test_sleep(benchmark):
    benchmark.pedantic(time.sleep, args=(float(os.environ["SLEEP_S"]),), rounds=3, iterations=1)
'''


def run_benchmark(folder: Path, sleep_s: float, *args: str) -> subprocess.CompletedProcess:
    """pytest on the trivial benchmark in `folder`, with this checkout's infill plugin (-p: the folder has no
    conftest.py) and pytest-benchmark's storage in the folder."""
    env = {**os.environ, "SLEEP_S": str(sleep_s),
           "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "infill.pytest_plugin.plugin", "-p",
                           "no:cacheprovider", "-q", "test_trivial.py", f"--benchmark-storage={folder / 'store'}",
                           "--infill-report-dir", str(folder / "report"), *args],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=300)


def test_a_failed_compare_threshold_is_one_line_and_exit_code_1(tmp_path):
    (tmp_path / "test_trivial.py").write_text(TRIVIAL_BENCHMARK)
    saved = run_benchmark(tmp_path, 0.001, "--benchmark-autosave")
    assert saved.returncode == 0, saved.stdout + saved.stderr
    # 50 times slower than the saved run against a 5% threshold: must fail
    slower = run_benchmark(tmp_path, 0.05, "--benchmark-compare", "--benchmark-compare-fail=median:5%")
    output = slower.stdout + slower.stderr
    assert slower.returncode == 1, output
    assert "Traceback" not in output and "PerformanceRegression" not in output
    assert "Performance has regressed" not in output            # pytest-benchmark's own block: replaced
    [line] = [line for line in output.splitlines() if "regressed" in line]
    assert line.startswith(MESSAGE) and "test_sleep" in line and "median" in line, line
    measured, threshold = map(float, re.search(r"PercentageRegressionCheck: ([\d.e+]+) > ([\d.e+]+)", line).groups())
    assert measured > 1000 and threshold == 5
    # the same run against a threshold it meets: exit 0, no message
    lenient = run_benchmark(tmp_path, 0.001, "--benchmark-compare", "--benchmark-compare-fail=median:100000%")
    assert lenient.returncode == 0 and MESSAGE not in lenient.stdout + lenient.stderr, lenient.stdout


def test_the_message_names_every_regression_on_one_line():
    text = describe([("test_a (0001)", "Field 'median' has failed PercentageRegressionCheck: 1766.998049506 > "
                                       "5.000000000"),
                     ("test_b (0001)", "Field 'min' has failed DifferenceRegressionCheck: 0.123456789 > 0.1")])
    assert "\n" not in text
    assert text == (MESSAGE + "test_a (0001): Field 'median' has failed PercentageRegressionCheck: 1767 > 5; "
                    "test_b (0001): Field 'min' has failed DifferenceRegressionCheck: 0.1235 > 0.1")


def infill_bench_test_command() -> list[str]:
    """The pytest arguments `./infill-bench test` passes (its `test)` line and continuation), "$@" left out."""
    script = (ROOT / "infill-bench").read_text()
    match = re.search(r'^\s*test\)\s*setup;\s*exec "\$VENV/bin/python" -m (pytest .*?)"\$@"', script,
                      re.MULTILINE | re.DOTALL)
    assert match, "the test) line of ./infill-bench changed shape: update this test"
    return shlex.split(match.group(1).replace("\\\n", " "))


def test_tox_runs_what_infill_bench_test_runs():
    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini")
    command = tox["testenv"]["commands"].strip()
    assert command.endswith("{posargs}"), command
    assert shlex.split(command.removesuffix("{posargs}")) == infill_bench_test_command()
