"""Unit tests for the sandboxed execution grader (infill/grading/execution.py).

Hostile programs run in a pool with a 1 s timeout to keep the file fast; semantics
tests use the default configuration (the reference's 3 s timeout).
"""
from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest

from infill.benchmarks.humaneval import humaneval_program
from infill.grading import execution
from infill.grading.execution import (
    EXECUTION_RULE_VERSION,
    FAILED,
    MEMORY,
    PASSED,
    SANDBOX_ERROR,
    TIMEOUT,
    ExecutionResult,
    SandboxConfig,
    SandboxPool,
)

REPO = Path(__file__).resolve().parent.parent
DATA_NAME = "HumanEval-SingleLineInfilling.jsonl.gz"
SANDBOX_UID_MIN = 2_000_000_000  # the worker gives its programs a uid above this when root
HAVE_BWRAP = execution.shutil.which("bwrap") is not None


def single_line_path() -> Path:
    packaged = REPO / "infill" / "benchmarks" / "data" / "humaneval-infilling" / DATA_NAME
    return packaged if packaged.exists() else Path("/work/shared/data/humaneval-infilling") / DATA_NAME


_SAMPLES: dict[str, dict] = {}


def sample(task_id: str) -> dict:
    if not _SAMPLES:
        with gzip.open(single_line_path(), "rt", encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    s = json.loads(line)
                    _SAMPLES[s["task_id"]] = s
    return _SAMPLES["SingleLineInfilling/HumanEval/" + task_id]


def program(task_id: str, completion: str | None = None) -> str:
    s = sample(task_id)
    completion = s["canonical_solution"] if completion is None else completion
    return humaneval_program(s["prompt"], completion, s["suffix"], s["test"], s["entry_point"])


CANONICAL = program("2/L0")  # truncate_number: a quick canonical program


# ---- process-table checks -----------------------------------------------------------------
def descendants() -> dict[int, tuple[int, str]]:
    """pid -> (real uid, cmdline) of every live descendant of this test process."""
    parent_of, info = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rpartition(b")")[2].split()
            with open(f"/proc/{entry}/status") as f:
                uid = int(next(line for line in f if line.startswith("Uid:")).split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, StopIteration, ValueError):
            continue
        if fields[0] == b"Z":
            continue
        parent_of[int(entry)] = int(fields[1])
        info[int(entry)] = (uid, cmd)
    found, todo = {}, [os.getpid()]
    while todo:
        current = todo.pop()
        for pid, ppid in parent_of.items():
            if ppid == current and pid not in found:
                found[pid] = info[pid]
                todo.append(pid)
    return found


def assert_no_strays() -> None:
    """Only pool workers (bwrap + sandbox_worker.py) may be left, none with a program's uid."""
    procs = descendants()
    for pid, (uid, cmd) in procs.items():
        assert uid < SANDBOX_UID_MIN, f"a program's process survived: {pid} {cmd!r}"
        assert "bwrap" in cmd or "sandbox_worker.py" in cmd, f"unexpected process {pid} {cmd!r}"
    workers = [p for p, (_, cmd) in procs.items() if "sandbox_worker.py" in cmd and "bwrap" not in cmd]
    assert len(workers) <= 2 * 3, f"more worker processes than pool slots: {procs}"


# ---- fixtures ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pool():
    with SandboxPool(SandboxConfig(workers=2)) as p:
        yield p


@pytest.fixture(scope="module")
def hostile():
    with SandboxPool(SandboxConfig(timeout_s=1.0, memory_mb=256, workers=2)) as p:
        yield p


@pytest.fixture(scope="module")
def rlimits_pool():
    with SandboxPool(SandboxConfig(timeout_s=1.0, memory_mb=256, workers=2, isolation="rlimits")) as p:
        yield p


def grade(p: SandboxPool, prog: str) -> ExecutionResult:
    result = p.submit(prog).result(timeout=60)
    assert isinstance(result, ExecutionResult)
    return result


# ---- API and reference semantics ----------------------------------------------------------------
def test_api_constants_and_assembly_rule():
    assert EXECUTION_RULE_VERSION == "exec-v2"
    assert (PASSED, FAILED, TIMEOUT, MEMORY, SANDBOX_ERROR) == (
        "passed", "failed", "timeout", "memory", "sandbox_error")
    assert humaneval_program("P", "C", "S", "T", "f") == "PCS\nT\ncheck(f)"
    assert SandboxConfig() == SandboxConfig(3.0, 2048, 64, 16, 0, "auto")


def test_isolation_is_described(pool):
    if HAVE_BWRAP:
        assert pool.isolation.startswith("bubblewrap"), pool.isolation
        assert "no network" in pool.isolation
    else:
        assert pool.isolation.startswith("rlimits only (bubblewrap not found)")


@pytest.mark.parametrize("task", ["0/L0", "2/L0", "13/L0", "23/L0", "32/L0", "162/L0"])
def test_canonical_passes(pool, task):
    result = grade(pool, program(task))
    assert result == ExecutionResult(PASSED, "", result.duration_s), result
    assert 0 < result.duration_s < 3


def test_run_many_keeps_order(pool):
    progs = [CANONICAL, "assert 1 == 2", program("23/L0"), "1/0"] * 3
    statuses = [r.status for r in pool.run_many(progs)]
    assert statuses == [PASSED, FAILED, PASSED, FAILED] * 3


def test_wrong_completion_fails_with_its_exception_line(pool):
    assert grade(pool, program("2/L0", "    return number\n")) == \
        ExecutionResult(FAILED, "AssertionError", pytest.approx(0, abs=3))
    result = grade(pool, program("23/L0", "    return len(strin)\n"))
    assert (result.status, result.detail) == (FAILED, "NameError: name 'strin' is not defined")
    result = grade(pool, "x = 1 / 0")
    assert (result.status, result.detail) == (FAILED, "ZeroDivisionError: division by zero")


def test_empty_completion_fails(pool):
    result = grade(pool, program("2/L0", ""))
    assert (result.status, result.detail) == (FAILED, "AssertionError")


def test_canonical_without_trailing_newline_fails_where_that_breaks_it(pool):
    s = sample("0/L0")
    assert s["canonical_solution"].endswith(":\n") and s["suffix"].startswith("        ")
    result = grade(pool, program("0/L0", s["canonical_solution"][:-1]))
    assert result.status == FAILED and result.detail.startswith("SyntaxError"), result
    assert grade(pool, program("0/L0")).status == PASSED


def test_main_block_does_not_run(pool):
    s = sample("2/L0")
    # A program whose tests only fail inside a __main__ block passes (fresh globals: no __name__).
    main_block = '\nif __name__ == "__main__":\n    assert truncate_number(3.5) == 0.0\n'
    assert grade(pool, program("2/L0", s["canonical_solution"] + main_block)).status == PASSED
    control = main_block.replace('__name__ == "__main__"', "True")
    assert grade(pool, program("2/L0", s["canonical_solution"] + control)).status == FAILED
    assert grade(pool, "assert '__name__' not in globals()").status == PASSED


@pytest.mark.parametrize("read", ["input()", "import sys; sys.stdin.read()", "import sys; sys.stdin.readline()"])
def test_reading_stdin_fails(pool, read):
    assert grade(pool, read + "\n" + CANONICAL).status == FAILED


@pytest.mark.parametrize("exit_code", [
    "import sys; sys.exit(0)", "import os; os._exit(0)", "raise SystemExit", "exit()",
    "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
    "import os; os.closerange(3, 65536)",  # the result pipe goes with it
    "import os\nif os.fork():\n    os._exit(0)",  # only the forked copy runs the tests
])
def test_exit_before_tests_is_a_failure(pool, exit_code):
    result = grade(pool, exit_code + "\n" + CANONICAL)
    assert result.status == FAILED, result
    assert grade(pool, CANONICAL).status == PASSED


def test_sys_exit_detail(pool):
    result = grade(pool, "import sys\nsys.exit(0)\n" + CANONICAL)
    assert result.detail == "exited before the tests completed (SystemExit 0)"


def test_forged_pass_report_fails(pool):
    # Write a well-formed pass report (with a guessed nonce) to every pipe we hold, then
    # leave without running the tests.
    forge = ("import os, json\n"
             "for fd in map(int, os.listdir('/proc/self/fd')):\n"
             "    try:\n"
             "        if os.readlink('/proc/self/fd/%d' % fd).startswith('pipe:'):\n"
             "            os.write(fd, json.dumps({'pid': os.getpid(), 'nonce': '0' * 32}).encode() + b'\\n')\n"
             "    except OSError:\n"
             "        pass\n"
             "os._exit(0)\n")
    result = grade(pool, forge + CANONICAL)
    assert result.status == FAILED, result


def test_memory_error_is_memory(hostile):
    assert grade(hostile, "x = ' ' * (10 ** 12)").status == MEMORY


# ---- hostile programs --------------------------------------------------------------------
HOSTILE = {
    "fork bomb": ("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
                  {TIMEOUT, FAILED}),
    "infinite output": ("import sys, os\nwhile True:\n    print('x' * 4096)\n    sys.stderr.write('y' * 4096)\n"
                        "    os.write(1, b'z' * 4096)\n", {TIMEOUT}),
    "disk filler": ("with open('big', 'wb') as f:\n    while True:\n        f.write(b'x' * (1 << 20))\n", {FAILED}),
    "memory bomb": ("x = []\nwhile True:\n    x.append(bytearray(1 << 24))\n", {MEMORY}),
    "sleep forever": ("import time\ntime.sleep(10 ** 6)\n", {TIMEOUT}),
    "ignores SIGTERM": ("import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True:\n    pass\n",
                        {TIMEOUT}),
    "kills its parent": ("import os\nos.kill(os.getppid(), 9)\nassert False\n", {FAILED}),
    "kills its group": ("import os\nos.killpg(0, 9)\n", {FAILED}),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_program_is_contained(hostile, name):
    code, allowed = HOSTILE[name]
    result = grade(hostile, code)
    assert result.status in allowed, result
    assert_no_strays()
    assert grade(hostile, CANONICAL).status == PASSED


KILL_ALL = ("import os, signal\n"
            "for pid in os.listdir('/proc'):\n"
            "    if pid.isdigit() and int(pid) != os.getpid():\n"
            "        try:\n            os.kill(int(pid), signal.SIGKILL)\n"
            "        except OSError:\n            pass\n"
            "os.kill(-1, signal.SIGKILL)\n")


@pytest.mark.skipif(not HAVE_BWRAP, reason="needs bubblewrap (PID namespace): never kill(-1) bare")
def test_killing_everything_visible(hostile):
    # The program tries to kill every process it can see, then runs failing tests: if it
    # had taken the grader down with it, that must not turn into a pass.
    result = grade(hostile, KILL_ALL + program("2/L0", "    return number\n"))
    assert (result.status, result.detail) == (FAILED, "AssertionError"), result
    assert_no_strays()
    assert grade(hostile, CANONICAL).status == PASSED
    # The attempt itself is harmless (it can signal nothing but itself): a program that
    # then runs its tests to completion is graded on those tests, like any other.
    assert grade(hostile, KILL_ALL + CANONICAL).status == PASSED
    assert_no_strays()


def test_daemon_is_killed_after_the_program(hostile, tmp_path):
    code = ("import os, time\n"
            "if os.fork() == 0:\n"
            "    os.setsid()\n"
            "    if os.fork() == 0:\n"
            "        signal_ = __import__('signal'); signal_.signal(signal_.SIGTERM, signal_.SIG_IGN)\n"
            "        while True:\n            time.sleep(0.05)\n"
            "    os._exit(0)\n"
            "time.sleep(0.1)\n" + CANONICAL)
    assert grade(hostile, code).status == PASSED  # the program itself did run its tests
    assert_no_strays()  # ...but its daemon did not outlive it


@pytest.mark.skipif(not HAVE_BWRAP, reason="needs bubblewrap (network namespace)")
def test_no_network(hostile):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    try:
        code = (f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=0.5)\n"
                "s.sendall(b'escaped')\n" + CANONICAL)
        result = grade(hostile, code)
        assert result.status == FAILED, result
        listener.settimeout(0.2)
        with pytest.raises(socket.timeout):
            listener.accept()
    finally:
        listener.close()
    assert_no_strays()


def test_cannot_write_outside_its_directory(hostile, tmp_path):
    targets = [REPO / f"sandbox-escape-{uuid.uuid4().hex}.txt", tmp_path / "escape.txt"]
    for target in targets:
        code = f"with open({str(target)!r}, 'w') as f:\n    f.write('escaped')\n" + CANONICAL
        assert grade(hostile, code).status == FAILED
        assert not target.exists()
    # its own working directory (and HOME) is writable
    ok = "import os\nwith open('here.txt', 'w') as f:\n    f.write('ok')\nassert os.environ['HOME'] == os.getcwd()\n"
    assert grade(hostile, ok + CANONICAL).status == PASSED


def test_working_directory_is_fresh(hostile):
    first = "import os\nopen('marker', 'w').close()\nassert os.listdir('.') == ['marker']\n"
    assert [r.status for r in hostile.run_many([first, first, first])] == [PASSED] * 3


def test_environment_secret_is_invisible(monkeypatch):
    secret = "s3cret-" + uuid.uuid4().hex
    monkeypatch.setenv("INFILL_TEST_SECRET", secret)
    code = ("import os\nfound = os.environ.get('INFILL_TEST_SECRET') is not None\n"
            "for pid in os.listdir('/proc'):\n"
            "    try:\n"
            f"        found = found or {secret!r}.encode() in open('/proc/%s/environ' % pid, 'rb').read()\n"
            "    except OSError:\n        pass\n"
            "assert found, 'secret not found'\n")
    with SandboxPool(SandboxConfig(workers=1, timeout_s=2.0)) as p:
        result = grade(p, code)
        assert (result.status, result.detail) == (FAILED, "AssertionError: secret not found")
        assert grade(p, "import os\nassert set(os.environ) <= {'PATH', 'HOME', 'TMPDIR', 'LANG', "
                        "'LC_CTYPE', 'PYTHONHASHSEED', 'PYTHONDONTWRITEBYTECODE'}, sorted(os.environ)\n"
                     ).status == PASSED


def test_runs_are_deterministic(pool):
    # fixed hash seed and random state: a program's verdict does not depend on the run
    code = ("import sys, random\nassert sys.flags.hash_randomization == 0\n"
            "assert random.random() == {!r}, random.random()\n")
    import random
    expected = random.Random(0).random()
    assert [r.status for r in pool.run_many([code.format(expected)] * 4)] == [PASSED] * 4
    assert grade(pool, code.format(expected + 1)).status == FAILED


# ---- pool behaviour -------------------------------------------------------------------------
def test_thread_safe_submit(pool):
    results: list = []

    def submit_some(k):
        results.extend((k, pool.submit(CANONICAL if k % 2 else "assert False")) for _ in range(5))

    threads = [threading.Thread(target=submit_some, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(f.result(timeout=60).status == (PASSED if k % 2 else FAILED) for k, f in results)


def _running_program(exclude: set[int], deadline_s: float = 10.0) -> tuple[int, int]:
    """(program pid, its worker's pid) for a program running under a live worker."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        procs = descendants()
        for pid, (uid, _) in procs.items():
            if uid < SANDBOX_UID_MIN or pid in exclude:
                continue
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    worker = int(f.read().rpartition(b")")[2].split()[1])
            except OSError:
                continue
            worker_uid, worker_cmd = procs.get(worker, (SANDBOX_UID_MIN, ""))
            if worker_uid < SANDBOX_UID_MIN and "sandbox_worker.py" in worker_cmd:  # not a program's fork
                return pid, worker
        time.sleep(0.01)
    raise AssertionError("the program never started")


def _uid_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("Uid:")).split()[1])


def _live_processes_with_uids(uids: set[int]) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and _uid_of(int(entry)) in uids:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    if f.read().rpartition(b")")[2].split()[0] != b"Z":  # zombies are dead
                        found.append(int(entry))
        except (OSError, StopIteration):
            pass
    return found


@pytest.mark.skipif(os.geteuid() != 0, reason="finds the program by its own uid (root only)")
@pytest.mark.parametrize("isolation", ["auto", "rlimits"])
def test_dead_worker_is_restarted_and_the_program_rerun_once(isolation):
    before = set(descendants())
    uids = set()
    with SandboxPool(SandboxConfig(workers=1, timeout_s=2.0, isolation=isolation)) as p:
        # the program leaves a sleeping child: it must not outlive its killed worker either
        sleeper = "import os, time\nif os.fork() == 0:\n    time.sleep(60)\ntime.sleep(0.6)\n" + CANONICAL
        future = p.submit(sleeper)
        first, worker = _running_program(set())
        uids.add(_uid_of(first))
        os.kill(worker, signal.SIGKILL)
        assert future.result(timeout=60).status == PASSED  # rerun once on a fresh worker
        future = p.submit(sleeper)
        second, worker = _running_program({first})
        uids.add(_uid_of(second))
        os.kill(worker, signal.SIGKILL)
        third, worker = _running_program({first, second})
        uids.add(_uid_of(third))
        os.kill(worker, signal.SIGKILL)
        result = future.result(timeout=60)
        assert result == ExecutionResult(FAILED, "killed the grader", pytest.approx(1, abs=60))
        assert not result.cacheable  # whoever killed the worker twice, it may not be the program
        assert grade(p, CANONICAL).status == PASSED
    assert set(descendants()) <= before
    time.sleep(0.1)
    assert _live_processes_with_uids(uids) == []  # nothing of the killed workers' programs is left


def test_close_leaves_no_process():
    before = set(descendants())
    p = SandboxPool(SandboxConfig(workers=2, timeout_s=1.0))
    assert set(descendants()) == before  # workers start lazily
    assert grade(p, HOSTILE["fork bomb"][0]).status in (TIMEOUT, FAILED)
    assert grade(p, CANONICAL).status == PASSED
    p.close()
    assert set(descendants()) <= before
    with pytest.raises(RuntimeError):
        p.submit(CANONICAL)


def test_worker_that_cannot_start_is_a_sandbox_error(monkeypatch):
    monkeypatch.setattr(execution, "WORKER_SCRIPT", REPO / "no-such-worker.py")
    with SandboxPool(SandboxConfig(workers=1, isolation="rlimits")) as p:
        result = grade(p, CANONICAL)
    assert result.status == SANDBOX_ERROR and "worker" in result.detail, result


def test_missing_bwrap(monkeypatch):
    monkeypatch.setattr(execution.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="bubblewrap"):
        SandboxPool(SandboxConfig(isolation="bwrap"))
    with SandboxPool(SandboxConfig(isolation="auto", workers=1)) as p:
        assert p.isolation.startswith("rlimits only (bubblewrap not found): NO filesystem isolation")
        assert grade(p, CANONICAL).status == PASSED


# ---- rlimits fallback ----------------------------------------------------------------------
@pytest.mark.parametrize("code, expected", [
    (CANONICAL, PASSED),
    (program("0/L0"), PASSED),
    ("import sys\nsys.exit(0)\n" + CANONICAL, FAILED),
    ("import os\nos._exit(0)\n" + CANONICAL, FAILED),
    ("while True:\n    pass\n", TIMEOUT),
    (HOSTILE["fork bomb"][0], TIMEOUT),
    (HOSTILE["memory bomb"][0], MEMORY),
    (HOSTILE["kills its parent"][0], FAILED),
])
def test_rlimits_fallback(rlimits_pool, code, expected):
    assert rlimits_pool.isolation.startswith("rlimits only: NO filesystem isolation")
    result = grade(rlimits_pool, code)
    if expected == TIMEOUT and code.startswith("import os"):
        assert result.status in (TIMEOUT, FAILED), result  # fork bomb: contained either way
    else:
        assert result.status == expected, result
    assert_no_strays()
    assert grade(rlimits_pool, CANONICAL).status == PASSED


def test_a_worker_that_could_not_clean_up_is_replaced_and_the_verdict_stands(monkeypatch):
    from infill.grading import worker_process
    real_run, started = worker_process.Worker.run, []

    def run(self, program, timeout_s, statuses):
        started.append(self.proc.pid)
        reply = real_run(self, program, timeout_s, statuses)
        return {**reply, "retire": "clean-up failed: (simulated)"} if "retire me" in program else reply

    monkeypatch.setattr(worker_process.Worker, "run", run)
    with SandboxPool(SandboxConfig(workers=1, timeout_s=2.0, isolation="rlimits")) as p:
        first = grade(p, "# retire me\nassert False\n")
        assert (first.status, first.detail, first.cacheable) == (FAILED, "AssertionError", True)
        assert grade(p, CANONICAL).status == PASSED
    assert len(set(started)) == 2  # the second program ran on a fresh worker
    assert_no_strays()
