"""Hostile programs, round two (issue 16): what broke the grader, faked its faults or its passes, or slipped past
a limit. Each runs with bubblewrap and with the rlimits fallback where both apply; after each, the process table
holds no program's process and the next programs are graded as before (``contained`` and ``among_correct``).
"""
from __future__ import annotations

import json
import os
import sys
import sysconfig
import unicodedata
from pathlib import Path

import pytest

from infill.grading.execution import FAILED, MEMORY, PASSED, TIMEOUT, SandboxConfig, SandboxPool
from tests.test_sandbox_hostile import (
    FAILING,
    PASSING,
    ROOT,
    SANDBOX_UID_MIN,
    assert_no_process_left,
    descendants,
    grade,
    processes,
)

REPO = Path(__file__).resolve().parent.parent
DEEP = "import os\nfor i in range(3000):\n    os.mkdir('d')\n    os.chdir('d')\n"


@pytest.fixture(scope="module")
def pools():
    made: dict[str, SandboxPool] = {}

    def get(mode: str) -> SandboxPool:
        if mode == "bwrap" and not HAVE_BWRAP:
            pytest.skip("needs bubblewrap")
        if mode not in made:  # one worker: a program that broke it would break the next one
            made[mode] = SandboxPool(SandboxConfig(timeout_s=3.0, memory_mb=256, workers=1, isolation=mode))
        return made[mode]

    yield get
    for p in made.values():
        p.close()


HAVE_BWRAP = __import__("shutil").which("bwrap") is not None


@pytest.fixture(params=["bwrap", "rlimits"])
def pool(request, pools) -> SandboxPool:
    return pools(request.param)


def among_correct(p: SandboxPool, hostile: str):
    """Grade ``hostile`` between correct programs on a one-worker pool: the correct ones are graded as before."""
    results = p.run_many([PASSING, FAILING, hostile, PASSING, FAILING, PASSING])
    assert [(r.status, r.detail) for i, r in enumerate(results) if i != 2] == [
        (PASSED, ""), (FAILED, "AssertionError"), (PASSED, ""), (FAILED, "AssertionError"), (PASSED, "")], results
    assert_no_process_left()
    return results[2]


def worker_tmp_roots() -> list[str]:
    """The private directories of this process's live workers (from their command lines; a bubblewrap
    worker's through /proc/PID/root, which only root may read)."""
    roots = []
    procs = processes()
    for pid in descendants(procs):
        cmd = procs[pid][2]
        if "sandbox_worker.py" in cmd and "bwrap" not in cmd.split()[0]:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                config = json.loads(f.read().split(b"\0")[-2])
            if not config["pidns"]:
                roots.append(config["tmp_root"])
            elif ROOT:
                roots.append(f"/proc/{pid}/root{config['tmp_root']}")
    return roots


# ---- items 2 and 3: a tree too deep for the clean-up ----------------------------------------------
@pytest.mark.parametrize("tests", ["failing", "passing"])
def test_a_deep_directory_tree_is_the_programs_verdict_and_is_removed(pool, tests):
    """3000 nested directories once crashed the worker's clean-up (RecursionError): a sandbox error, never
    cached, and in the fallback every later program of the worker too; the tree stayed in /tmp."""
    result = among_correct(pool, DEEP + (FAILING if tests == "failing" else PASSING))
    assert (result.status, result.detail) == ((FAILED, "AssertionError") if tests == "failing" else (PASSED, ""))
    assert result.cacheable
    for root in worker_tmp_roots():
        assert os.listdir(root) == [], root


def test_the_fallbacks_directory_goes_with_the_pool():
    before = set(worker_tmp_roots())  # (the module's pools may be running)
    with SandboxPool(SandboxConfig(timeout_s=3.0, workers=1, isolation="rlimits")) as p:
        assert grade(p, DEEP + PASSING).status == PASSED
        roots = sorted(set(worker_tmp_roots()) - before)
        assert len(roots) == 1 and os.path.basename(roots[0]).startswith("infill-sandbox-")
    assert not os.path.exists(roots[0])


@pytest.mark.skipif(not ROOT, reason="the fallback cleans shared directories only as root")
def test_files_left_in_run_lock_are_removed(pools):
    if not (os.path.isdir("/run/lock") and os.stat("/run/lock").st_mode & 0o002):
        pytest.skip("no world-writable /run/lock here")
    p = pools("rlimits")
    assert "/run/lock" in p.isolation
    name = f"/run/lock/infill-{os.getpid()}-left"
    code = f"os = __import__('os')\nos.mkdir({name!r})\nopen({name!r} + '/f', 'w').close()\n" + FAILING
    assert grade(p, code).status == FAILED
    assert not os.path.exists(name)


# ---- item 5: memory of all a program's processes together ----------------------------------------
def test_memory_is_bounded_for_all_processes_together(pool):
    """Three forks of 150 MB each (256 MB allowed per program): each is within its own address-space limit."""
    code = ("import os, time\nkids = []\nfor _ in range(3):\n    pid = os.fork()\n    if pid == 0:\n"
            "        block = b'\\x01' * (150 << 20)\n        time.sleep(1.5)\n        os._exit(0)\n    kids.append(pid)\n"
            "for pid in kids:\n    os.waitpid(pid, 0)\n" + PASSING)
    result = among_correct(pool, code)
    assert result.status == MEMORY and "together" in result.detail, result
    assert not result.cacheable  # sampled: how much it sees depends on timing


def test_memfd_is_denied(pool):
    result = among_correct(pool, "import os\nos.memfd_create('x')\n" + PASSING)
    assert (result.status, result.detail) == (FAILED, "PermissionError: [Errno 1] Operation not permitted")


# ---- item 8: what reaches the terminal, and what shows inside -----------------------------------------
def test_control_characters_in_a_failure_are_shown_escaped(pool):
    code = "raise AssertionError('red \\x1b[31m title \\x1b]0;pwned\\x07 csi \\x9b2J rtl \\u202e end')\n"
    result = among_correct(pool, code)
    assert result.status == FAILED
    assert not [c for c in result.detail if unicodedata.category(c) in ("Cc", "Cf", "Cs")], result.detail
    assert result.detail == r"AssertionError: red \x1b[31m title \x1b]0;pwned\x07 csi \x9b2J rtl \u202e end"


def test_a_lone_surrogate_in_a_failure_is_valid_text(pool):
    result = among_correct(pool, "raise AssertionError('bad \\ud800')\n")
    assert (result.status, result.detail) == (FAILED, r"AssertionError: bad \ud800") and result.cacheable
    result.detail.encode("utf-8")


def test_proc_shows_no_host_path_of_the_project(pools):
    code = ("import glob\nleaks = []\n"
            "for path in ['/proc/1/cmdline', '/proc/2/cmdline', '/proc/self/mountinfo', '/proc/self/maps', "
            "'/proc/self/cmdline', '/proc/1/environ', '/proc/self/environ']:\n"
            "    try:\n        text = open(path, 'rb').read().decode('utf-8', 'replace')\n"
            "    except OSError:\n        continue\n"
            f"    if {str(REPO)!r} in text:\n        leaks.append(path)\n"
            "assert not leaks, 'LEAKED %s' % leaks\n")
    result = among_correct(pools("bwrap"), code)
    assert result.status == PASSED, result


def test_the_interpreters_site_packages_are_not_visible(pools):
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}
    site = sysconfig.get_path("purelib", vars=base)
    modules = sorted(n.split(".")[0] for n in os.listdir(site) if n.endswith(".py") or
                     os.path.isfile(os.path.join(site, n, "__init__.py"))) if os.path.isdir(site) else []
    code = (f"import importlib.util, os\nsite = {site!r}\n"
            "assert not os.path.exists(site) or os.listdir(site) == [], os.listdir(site)[:5]\n"
            f"found = [m for m in {modules[:20]!r} if importlib.util.find_spec(m) is not None]\n"
            "assert not found, found\n")
    result = among_correct(pools("bwrap"), code)
    assert result.status == PASSED, result


# ---- item 9: the pass claim is out of the program's reach -----------------------------------------------
FORGE_FROM_OBJECTS = """
import functools, gc, itertools, json, os, re, sys
nonces, fds = [], set(range(3, 256))
def harvest(value):
    if isinstance(value, bytes):
        value = value.decode('latin-1')
    if isinstance(value, str) and re.fullmatch('[0-9a-f]{32}', value) and value not in nonces:
        nonces.append(value)
def read(fd):
    try:
        os.set_blocking(fd, False)
        harvest(os.read(fd, 64))
    except (OSError, ValueError):
        pass
frame = sys._getframe()
while frame is not None:                                  # the caller frames: locals, value stacks
    for value in list(frame.f_locals.values()) + gc.get_referents(frame):
        harvest(value)
        if isinstance(value, int) and 3 <= value < 256:
            read(value)
    frame = frame.f_back
for fd in range(3, 256):                                  # every descriptor: a nonce pipe?
    read(fd)
gc.unfreeze()                                             # every object the collector knows
for obj in gc.get_objects():
    if isinstance(obj, (itertools.starmap, itertools.chain, map)) or (
            isinstance(obj, functools.partial) and getattr(obj.func, '__name__', '') == 'deque'):
        try:
            obj() if isinstance(obj, functools.partial) else next(obj)
        except BaseException:
            pass
    elif isinstance(obj, (dict, list, tuple)):
        for value in (obj.values() if isinstance(obj, dict) else obj):
            harvest(value)
for nonce in nonces:
    for fd in sorted(fds):
        for claim in (json.dumps({'pid': os.getpid(), 'nonce': nonce}) + '\\n', 'P' + nonce):
            try:
                os.write(fd, claim.encode())
            except OSError:
                pass
os._exit(0)
"""


def test_frames_objects_and_descriptors_lead_to_no_pass(pool):
    """A wrong program that walks its caller frames, the collector's objects (gc.unfreeze first) and its
    descriptors for the nonce or the code that claims a pass, claims with all it found, and leaves: once one
    line (the caller frame's locals held the nonce) made it PASSED."""
    result = among_correct(pool, FORGE_FROM_OBJECTS + FAILING)
    assert result.status == FAILED, result


def test_a_fork_that_returns_normally_does_not_speak_for_the_program(pool):
    code = "import os, time\nif os.fork():\n    time.sleep(0.5)\n    os._exit(0)\n" + PASSING
    result = among_correct(pool, code)
    assert (result.status, result.detail) == (FAILED, "exited before the tests completed (exit status 0)")


# ---- item 4 (the sandbox's side): who decided the verdict -------------------------------------------
@pytest.mark.parametrize("code, status, cacheable", [
    (PASSING, PASSED, True), (FAILING, FAILED, True), ("import sys\nsys.exit(3)\n", FAILED, True),
    ("import os\nos._exit(3)\n", FAILED, True), ("x = ' ' * (10 ** 12)\n", MEMORY, True),
    ("import os\nos.closerange(3, 1024)\n" + PASSING, FAILED, True),      # no way left to claim the pass
    ("while True:\n    pass\n", TIMEOUT, False),
    ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n", FAILED, False),   # as from outside
    ("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", FAILED, False),
])
def test_a_verdict_says_whether_the_program_alone_decided_it(pool, code, status, cacheable):
    result = grade(pool, code)
    assert (result.status, result.cacheable) == (status, cacheable), result


@pytest.mark.skipif(not ROOT, reason="finds the program by its uid (root only)")
def test_a_program_killed_from_outside_is_not_cacheable(pool):
    import signal
    import time
    future = pool.submit("import time\ntime.sleep(2)\n" + PASSING)
    deadline = time.monotonic() + 10
    victim = None
    while victim is None and time.monotonic() < deadline:
        procs = processes()
        victim = next((p for p in descendants(procs) if procs[p][1] >= SANDBOX_UID_MIN), None)
        time.sleep(0.01)
    assert victim is not None, "the program never started"
    os.kill(victim, signal.SIGKILL)
    result = future.result(timeout=60)
    assert (result.status, result.detail, result.cacheable) == (
        FAILED, "killed by signal SIGKILL before the tests completed", False)
    assert grade(pool, PASSING).status == PASSED
