"""Progress lines (issue 17 part 4): per (model, benchmark) stage a line with done/total, rate and ETA, shown through
pytest's terminal reporter (redrawn on a terminal, a line now and then into a file or pipe, only finished stages
under -q and never inside a row of dots); under -n shown by the controller; and per group a line saying how much
came from the cache.

The display tests run pytest on small test modules that emit readings themselves (through the plugin's own
progress object), so they need no model; the end-to-end test runs the tiny live model twice on two samples."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from infill.run.progress import CacheCount, CacheLines, Meter, clock

ROOT = Path(__file__).resolve().parents[1]
ROW_LETTER = r"[.xsEFX]"


# ---- readings, as data ---------------------------------------------------------------------------------------
def test_rate_counts_only_what_this_run_computed_and_eta_follows_from_it():
    now = [100.0]
    meter = Meter("m", "b", "generating", total=100, done=40, now=lambda: now[0])   # 40 from the cache
    assert meter.reading(40).rate is None and meter.reading(40).eta is None
    now[0] = 110.0
    reading = meter.reading(60)
    assert reading.rate == pytest.approx(2.0) and reading.eta == pytest.approx(20.0)
    assert reading.line() == "m b: generating 60/100, 2/s, 0:10 elapsed, ETA 0:20"
    now[0] = 130.0
    assert meter.reading(100, finished=True).line() == "m b: generating 100/100 in 0:30 (2/s)"
    assert clock(3725) == "1:02:05" and clock(59.6) == "1:00"


def test_cache_lines_add_up_per_group_and_name_every_group():
    lines = CacheLines()
    lines.add(CacheCount("m", "b", "generations", 3, 4))
    lines.add(CacheCount("m", "b", "verdicts", 2, 2))
    lines.add(CacheCount("m", "b", "verdicts", 1, 2))
    lines.add(CacheCount("member", "b", "generations", 0, 4))     # prepared as a side effect of m's group
    assert lines.ready("m", "b") == ["m b: from the cache: 3/4 generations, 3/4 verdicts",
                                     "member b: from the cache: 0/4 generations"]
    assert lines.ready("replayed", "b") == ["replayed b: from the cache: nothing needed"]


# ---- the display, in pytest -----------------------------------------------------------------------------------
EMITTER = '''
import time
import pytest
from infill.pytest_plugin.progress import PROGRESS
from infill.run.progress import CacheCount, Reading

@pytest.mark.parametrize("i", range(5))
def test_before(i):
    pass

def test_stage(request):
    progress = request.config.stash[PROGRESS]
    progress.advance(Reading("mod", "bench", "generating", 0, 8, 0.0, None))
    time.sleep(0.5)
    progress.advance(Reading("mod", "bench", "generating", 4, 8, 2.0, 2.0))
    time.sleep(0.5)
    progress.advance(Reading("mod", "bench", "generating", 8, 8, 4.0, 2.0, finished=True))
    progress.from_cache(CacheCount("mod", "bench", "generations", 0, 8))
    progress.group_ready("mod", "bench")
    time.sleep({pause})

@pytest.mark.parametrize("i", range(5))
def test_after(i):
    pass
'''


def run_emitter(tmp_path: Path, *args: str, pause: float = 0.0, terminal: bool = False) -> str:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["infill.pytest_plugin.plugin"]\n')
    (tmp_path / "test_emit.py").write_text(EMITTER.replace("{pause}", str(pause)))
    return (run_in_terminal if terminal else run)(tmp_path, "test_emit.py", *args)


def command(*args: str) -> tuple[list[str], dict]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "COLUMNS": "120"}
    return [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], env


def run(folder: Path, *args: str) -> str:
    argv, env = command(*args)
    done = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def run_in_terminal(folder: Path, *args: str) -> str:
    """pytest with a pseudo-terminal as its output, as a person at a terminal runs it: what it wrote."""
    import pty
    argv, env = command(*args)
    main, follower = pty.openpty()
    process = subprocess.Popen(argv, cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=follower,
                               stderr=follower)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:                 # EIO: the process closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(main)
    assert process.wait(timeout=600) == 0, output[-3000:]
    return output.decode()


def infill_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if "[infill]" in line]


def assert_lines_start_lines(lines: list[str]) -> None:
    """Every progress line starts a line of its own, and a row of dots is never continued after one."""
    for line in infill_lines(lines):
        assert line.startswith("[infill] "), line


def test_on_a_terminal_a_running_stage_is_redrawn_with_rate_and_eta(tmp_path):
    screen = run_emitter(tmp_path, terminal=True)
    drawn = [part.rstrip() for line in screen.split("\n") for part in line.split("\r") if "[infill]" in part]
    assert all(part.startswith("[infill] ") for part in drawn), drawn      # each drawn from the line's start
    assert drawn == ["[infill] mod bench: generating 0/8, -/s, 0:00 elapsed, ETA ?",
                     "[infill] mod bench: generating 4/8, 2/s, 0:02 elapsed, ETA 0:02",
                     "[infill] mod bench: generating 8/8 in 0:04 (2/s)",
                     "[infill] mod bench: from the cache: 0/8 generations"]
    # the stage's last state stays on its own line; the row it cut short goes on under its file's name
    plain = re.sub(r"\x1b\[[0-9;]*m", "", screen).replace("\r\n", "\n")
    assert re.search(r"\r\[infill\] mod bench: generating 8/8 in 0:04 \(2/s\) *\n", plain)
    assert re.search(r"\ntest_emit\.py \.{5}\n", plain) and re.search(r"\ntest_emit\.py \.{6} +\[100%\]", plain)


def test_into_a_pipe_a_stage_says_when_it_starts_and_ends(tmp_path):
    lines = run_emitter(tmp_path).splitlines()
    assert_lines_start_lines(lines)
    assert infill_lines(lines) == [
        "[infill] mod bench: generating 0/8, -/s, 0:00 elapsed, ETA ?",
        "[infill] mod bench: generating 8/8 in 0:04 (2/s)",         # the middle one: within LINES_EVERY
        "[infill] mod bench: from the cache: 0/8 generations"]
    rows = [line for line in lines if line.startswith("test_emit.py")]
    assert rows[0] == "test_emit.py ....." and re.fullmatch(r"test_emit\.py \.{6} +\[100%\]", rows[1]), rows


def test_quiet_shows_finished_stages_only_and_never_inside_a_row_of_dots(tmp_path):
    lines = run_emitter(tmp_path, "-q").splitlines()
    assert_lines_start_lines(lines)
    assert infill_lines(lines) == ["[infill] mod bench: generating 8/8 in 0:04 (2/s)",
                                   "[infill] mod bench: from the cache: 0/8 generations"]
    rows = [line for line in lines if re.match(ROW_LETTER, line)]
    assert len(rows) == 1 and re.fullmatch(r"\.{11} +\[100%\]", rows[0]), lines         # the row is whole
    assert lines.index(infill_lines(lines)[0]) > lines.index(rows[0])      # and the lines come after it


def test_under_xdist_the_controller_shows_the_workers_progress_while_tests_run(tmp_path):
    lines = run_emitter(tmp_path, "-n", "2", pause=1.5).splitlines()
    assert_lines_start_lines(lines)
    shown = infill_lines(lines)
    assert shown[0] == "[infill] mod bench: generating 0/8, -/s, 0:00 elapsed, ETA ?"
    assert shown[1:] == ["[infill] mod bench: generating 8/8 in 0:04 (2/s)",
                         "[infill] mod bench: from the cache: 0/8 generations"]
    # shown while the tests ran (the relay wakes the controller), not after the last one
    end = next(i for i, line in enumerate(lines) if "[100%]" in line)
    assert lines.index(shown[-1]) < end, lines


# ---- the real pipeline ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_live_model_says_what_it_generated_and_what_came_from_the_cache(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["infill.pytest_plugin.plugin"]\n')
    for name in ("test_santacoder_fim.py",):
        (tmp_path / name).write_text((ROOT / "bench_tests" / name).read_text())
    args = ("-q", "--infill-models", "canonical,tiny-qwen2-fim", "--infill-benchmarks", "santacoder-fim-py",
            "--infill-limit", "3")
    first = run(tmp_path, *args).splitlines()
    assert_lines_start_lines(first)
    assert any(re.fullmatch(r"\[infill\] tiny-qwen2-fim santacoder-fim-py: generating 3/3 in \d+:\d\d "
                            r"\(\S+/s\)", line) for line in first), first
    assert "[infill] tiny-qwen2-fim santacoder-fim-py: from the cache: 0/3 generations" in first
    assert "[infill] canonical santacoder-fim-py: from the cache: nothing needed" in first
    again = run(tmp_path, *args).splitlines()
    assert "[infill] tiny-qwen2-fim santacoder-fim-py: from the cache: 3/3 generations" in again
    assert not any("generating" in line for line in again)
