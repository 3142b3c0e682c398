"""Hostile programs against the sandbox (issue 7: "nothing escapes").

Every program runs with bubblewrap and with the rlimits fallback (``mode``). For each: the
grader survives, the program is not graded passed, nothing it started is left (the process
table is scanned for the pool's descendants and for a marker the program puts in its
processes' names), and the next program is graded correctly.

Programs that try to reach something raise ``AssertionError('LEAKED ...')`` when they got it,
so a contained attempt fails with the error that stopped it and an escape shows in the
detail. The fallback gives weaker guarantees, and the tests hold it to what its isolation
string admits: without namespaces programs see the whole filesystem (as root they keep
CAP_DAC_READ_SEARCH when the interpreter lives somewhere only root can read, e.g. pyenv under
/root, so they can read every file), can write where all users can (what their uid leaves in
/tmp, /var/tmp and /dev/shm is removed after each program), and see every process (but may
signal or trace none: own uid, seccomp). Not being root, the fallback runs programs as the
grader's own uid: the tests that would be unsafe or meaningless then are skipped.
"""
from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from pathlib import Path

import pytest

from infill.grading import seccomp
from infill.grading.execution import FAILED, PASSED, TIMEOUT, ExecutionResult, SandboxConfig, SandboxPool
from infill.grading.sandbox_sys import world_writable_dirs

REPO = Path(__file__).resolve().parent.parent
SANDBOX_UID_MIN = 2_000_000_000  # programs' uids (when the grader is root)
HAVE_BWRAP = shutil.which("bwrap") is not None
ROOT = os.geteuid() == 0
X86_64 = seccomp.architecture() == "x86_64"
LEAK = "LEAKED"
PASSING = "def inc(x):\n    return x + 1\n\n\ndef check(candidate):\n    assert candidate(1) == 2\n\n\ncheck(inc)\n"
FAILING = PASSING.replace("== 2", "== 3")
LIBC = ("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "def denied(r):  # every call tried returns -1 on failure\n    if r != -1:\n        raise AssertionError('LEAKED: the call succeeded')\n"
        "    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))\n")


# ---- pools --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pools():
    made: dict[str, SandboxPool] = {}

    def get(mode: str) -> SandboxPool:
        if mode == "bwrap" and not HAVE_BWRAP:
            pytest.skip("needs bubblewrap")
        if mode not in made:
            made[mode] = SandboxPool(SandboxConfig(timeout_s=1.0, memory_mb=256, workers=2, isolation=mode))
        return made[mode]

    yield get
    for p in made.values():
        p.close()


@pytest.fixture(params=["bwrap", "rlimits"])
def pool(request, pools) -> SandboxPool:
    return pools(request.param)


def is_bwrap(p: SandboxPool) -> bool:
    return p.isolation.startswith("bubblewrap")


def admits(p: SandboxPool, what: str) -> bool:
    """Whether the pool's isolation string admits a weaker guarantee."""
    return {"read": "can read every file" in p.isolation,
            "write": "write where all users can" in p.isolation or "read and write every file" in p.isolation,
            }[what]


def grade(p: SandboxPool, code: str) -> ExecutionResult:
    return p.submit(code).result(timeout=60)


def marker() -> str:
    return "infx" + uuid.uuid4().hex[:10]  # fits in a 15-character process name


# ---- process table ------------------------------------------------------------------------
def processes() -> dict[int, tuple[int, int, str, str]]:
    """pid -> (ppid, real uid, cmdline, comm) of every live process on the machine."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rpartition(b")")[2].split()
            if fields[0] == b"Z":
                continue
            with open(f"/proc/{entry}/status") as f:
                uid = int(next(line for line in f if line.startswith("Uid:")).split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/comm") as f:
                comm = f.read().strip()
        except (OSError, StopIteration, ValueError, IndexError):
            continue
        found[int(entry)] = (int(fields[1]), uid, cmd, comm)
    return found


def descendants(procs) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, *_) in procs.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [os.getpid()]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def strays(mark: str | None) -> list[str]:
    procs = processes()
    bad = []
    for pid in descendants(procs):
        _, uid, cmd, _ = procs[pid]
        if (ROOT and uid >= SANDBOX_UID_MIN) or not ("bwrap" in cmd or "sandbox_worker.py" in cmd):
            bad.append(f"{pid} uid={uid} {cmd!r}")
    if mark:
        bad += [f"{pid} {cmd!r} ({comm})" for pid, (_, _, cmd, comm) in procs.items()
                if mark in cmd or mark in comm]
    return bad


def assert_no_process_left(mark: str | None = None) -> None:
    deadline = time.monotonic() + 3.0
    while (left := strays(mark)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"left behind: {left}"


def assert_workdirs_removed() -> None:
    """Every live worker's private directory root is empty again (root only: reads /proc/<pid>/root)."""
    if not ROOT:
        return
    import json
    procs = processes()
    for pid in descendants(procs):
        cmd = procs[pid][2]
        if "sandbox_worker.py" in cmd and "bwrap" not in cmd.split()[0]:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                config = json.loads(f.read().split(b"\0")[-2])
            tmp_root = f"/proc/{pid}/root{config['tmp_root']}"
            assert os.listdir(tmp_root) == [], (pid, os.listdir(tmp_root))


def parent_is_shared() -> bool:
    """Whether the folder holding the checkout is writable by all users (a clone under /tmp), not private like a
    folder of worktrees side by side."""
    return bool(os.stat(REPO.parent).st_mode & 0o002)


def contained(p: SandboxPool, code: str, statuses=(FAILED,), mark: str | None = None,
              leak_admitted: bool = False) -> ExecutionResult:
    result = grade(p, code)
    assert result.status in statuses and result.status != PASSED, result
    if not leak_admitted:
        assert LEAK not in result.detail, result
    assert_no_process_left(mark)
    assert grade(p, PASSING).status == PASSED
    assert grade(p, FAILING) == ExecutionResult(FAILED, "AssertionError", pytest.approx(0, abs=1))
    return result


# ---- processes that try to outlive the program --------------------------------------------------
def test_fork_bomb_of_sleepers_leaves_nothing(pool):
    mark = marker()
    code = ("import os\nn = 0\nwhile n < 300:\n    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
            f"    if pid == 0:\n        os.setsid()\n        os.execv('/bin/sleep', [{mark!r}, '60'])\n    n += 1\n" + FAILING)
    contained(pool, code, (FAILED, TIMEOUT), mark)


@pytest.mark.parametrize("outcome", ["failing tests", "passing tests"])
def test_orphaned_daemons_are_killed(pool, outcome):
    mark = marker()
    code = ("import ctypes, os, signal, time\n"
            "if os.fork() == 0:\n    os.setsid()\n"
            "    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):\n        signal.signal(sig, signal.SIG_IGN)\n"
            "    if os.fork() == 0:\n"
            f"        os.execv('/bin/sleep', [{mark!r}, '60'])\n"
            "    if os.fork() == 0:  # a Python daemon, named by prctl(PR_SET_NAME)\n"
            f"        ctypes.CDLL(None).prctl(15, {mark.encode()!r}, 0, 0, 0)\n"
            "        while True:\n            time.sleep(0.01)\n"
            "    os._exit(0)\n"
            "time.sleep(0.2)\n")
    if outcome == "failing tests":
        contained(pool, code + FAILING, mark=mark)
    else:  # the program did run its tests: a pass, but its daemons do not outlive it
        assert grade(pool, code + PASSING).status == PASSED
        assert_no_process_left(mark)


TIMEOUT_DODGES = {
    "threads": ("import threading\ndef spin():\n    while True:\n        pass\n"
                "for _ in range(4):\n    threading.Thread(target=spin).start()\nspin()\n"),
    "signal handlers": ("import signal\nfor s in (signal.SIGTERM, signal.SIGALRM, signal.SIGINT, signal.SIGHUP, "
                        "signal.SIGXCPU, signal.SIGUSR1, signal.SIGVTALRM):\n    signal.signal(s, signal.SIG_IGN)\n"
                        "while True:\n    pass\n"),
    "all signals blocked": ("import signal, time\nsignal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())\n"
                            "time.sleep(100)\n"),
    "swallowing alarms": ("import signal\nsignal.signal(signal.SIGALRM, lambda *a: None)\n"
                          "signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)\nwhile True:\n    pass\n"),
}


@pytest.mark.parametrize("dodge", sorted(TIMEOUT_DODGES))
def test_timeout_cannot_be_dodged(pool, dodge):
    result = contained(pool, TIMEOUT_DODGES[dodge] + PASSING, (TIMEOUT,))
    assert result.duration_s < 3, result


# ---- reading what is not the program's ------------------------------------------------------------
READ = ("import os\np = {path!r}\ndata = sorted(os.listdir(p))[:5] if os.path.isdir(p) else open(p, 'rb').read(200)\n"
        "raise AssertionError('LEAKED %r' % (data,))\n")
# The folder holding the checkout: leaked when the program sees it as the host does, with the checkout in it. Under
# bubblewrap the path may exist inside (a clone under /tmp: the program's own private /tmp), never with the checkout.
READ_PARENT = ("import os\nnames = os.listdir({path!r})\nif {name!r} in names:\n"
               "    raise AssertionError('LEAKED %r' % sorted(names)[:5])\n"
               "raise AssertionError('not the host folder: %r' % sorted(names)[:5])\n")


@pytest.mark.parametrize("target", ["project file", "project dir", "checkout's parent", "generation cache",
                                    "reports", "home", "/etc/shadow", "secret file"])
def test_cannot_read_private_files(pool, tmp_path, target):
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret-" + uuid.uuid4().hex)
    path = {"project file": REPO / "README.md", "project dir": REPO, "checkout's parent": REPO.parent,
            "generation cache": REPO / ".infill-cache", "reports": REPO / "reports", "home": Path("/root/.bashrc"),
            "/etc/shadow": Path("/etc/shadow"), "secret file": secret}[target]
    code = (READ_PARENT.format(path=str(path), name=REPO.name) if target == "checkout's parent"
            else READ.format(path=str(path)))
    result = contained(pool, code, leak_admitted=admits(pool, "read"))
    if is_bwrap(pool):
        assert result.detail.startswith(("FileNotFoundError", "PermissionError",
                                         "AssertionError: not the host folder")), result
    if target == "secret file":
        assert secret.read_text() not in result.detail or admits(pool, "read")


@pytest.mark.skipif(not ROOT, reason="finds the running program by its uid (root only)")
def test_cannot_read_a_concurrently_running_programs_files(pool):
    secret = "s3cret-" + uuid.uuid4().hex
    writer = f"import time\nwith open('secret.txt', 'w') as f:\n    f.write({secret!r})\ntime.sleep(0.9)\n"
    future = pool.submit(writer)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # wait until its file exists, seen from outside
        procs = processes()
        if any(procs[p][1] >= SANDBOX_UID_MIN and os.path.exists(f"/proc/{p}/cwd/secret.txt")
               for p in descendants(procs)):
            break
        time.sleep(0.005)
    else:
        pytest.fail("the writer never started")
    reader = ("import glob, os, time\nend = time.monotonic() + 0.5\nwhile time.monotonic() < end:\n"
              "    for path in glob.glob('/tmp/*/run*/secret.txt') + glob.glob('/tmp/run*/secret.txt') + "
              "glob.glob('/proc/*/cwd/secret.txt') + glob.glob('/proc/*/root/tmp/run*/secret.txt'):\n"
              "        try:\n            raise AssertionError('LEAKED ' + open(path).read())\n"
              "        except OSError:\n            pass\n"
              "raise AssertionError('not found')\n")
    result = grade(pool, reader)
    future.result(timeout=60)
    assert result.status == FAILED, result
    if not admits(pool, "read"):
        assert result.detail == "AssertionError: not found", result
    assert_no_process_left()
    assert_workdirs_removed()


@pytest.mark.parametrize("mode", ["bwrap", "rlimits"])
def test_secrets_in_the_environment_are_invisible(pools, mode, monkeypatch):
    secret = "s3cret-" + uuid.uuid4().hex
    monkeypatch.setenv("INFILL_HOSTILE_SECRET", secret)
    pools(mode)  # (skips without bubblewrap)
    code = ("import glob, os\nfound = [k for k, v in os.environ.items() if 'INFILL' in k]\n"
            f"for path in ['/proc/{os.getpid()}/environ', '/proc/1/environ', '/proc/self/environ', "
            f"'/proc/{os.getpid()}/mem'] + glob.glob('/proc/*/environ'):\n"
            "    try:\n        with open(path, 'rb') as f:\n"
            f"            if {secret!r}.encode() in f.read(1 << 20):\n                found.append(path)\n"
            "    except OSError:\n        pass\n"
            "if found:\n    raise AssertionError('LEAKED %s' % found)\nraise AssertionError('contained')\n")
    with SandboxPool(SandboxConfig(timeout_s=2.0, workers=1, isolation=mode)) as p:  # started with the secret set
        result = grade(p, code)
    assert (result.status, result.detail) == (FAILED, "AssertionError: contained"), result
    assert_no_process_left()


# ---- writing where it should not ----------------------------------------------------------------
@pytest.mark.parametrize("target", ["project", "generation cache", "home", ".bashrc", "checkout's parent"])
def test_cannot_write_outside(pool, target):
    if not ROOT and not is_bwrap(pool):
        pytest.skip("the fallback runs programs as the grader's uid when not root (admitted)")
    name = f"escape-{uuid.uuid4().hex}"
    path = {"project": REPO / name, "generation cache": REPO / ".infill-cache" / name, "home": Path("/root") / name,
            ".bashrc": Path("/root/.bashrc"), "checkout's parent": REPO.parent / name}[target]
    existed = path.exists()
    code = f"open({str(path)!r}, 'a').close()\nraise AssertionError('LEAKED')\n"  # opening is enough: no content
    # The fallback admits writing where all users can (a checkout's parent under /tmp), and removes what the program
    # left there after it; bubblewrap's /tmp is the program's own, and not writable but for its working folder.
    admitted = target == "checkout's parent" and parent_is_shared() and admits(pool, "write")
    result = contained(pool, code, leak_admitted=admitted)
    if not admitted:
        assert result.detail.startswith(("FileNotFoundError", "PermissionError", "OSError: [Errno 30]")), result
    elif str(REPO.parent) not in world_writable_dirs():     # deeper than the fallback cleans: admitted, not promised
        path.unlink(missing_ok=True)
    assert path.exists() == existed


def test_shared_memory_and_temp_dirs(pool, tmp_path):
    """/dev/shm is not writable under bubblewrap; the fallback removes what the program left."""
    if not ROOT and not is_bwrap(pool):
        pytest.skip("the fallback cannot tell the program's files from the grader's when not root (admitted)")
    keep = tmp_path / "keep.txt"
    keep.write_text("keep")
    mark = marker()
    code = (f"import os\nmark = {mark!r}\nwritten = 0\n"
            "for i in range(8):\n    with open('/dev/shm/%s-%d' % (mark, i), 'wb') as f:\n"
            "        f.write(b'x' * (4 << 20))\n    written += 4\n"
            "for d in ('/tmp', '/var/tmp'):\n    os.mkdir('%s/%s' % (d, mark))\n"
            f"    os.symlink({str(tmp_path)!r}, '%s/%s/outside' % (d, mark))\n"
            f"    os.symlink({str(keep)!r}, '%s/%s-link' % (d, mark))\n"
            "raise AssertionError('LEAKED %d MB' % written)\n")
    result = contained(pool, code, leak_admitted=admits(pool, "write"))
    if is_bwrap(pool):
        assert result.detail.startswith("PermissionError"), result
    left = [f"{d}/{n}" for d in ("/dev/shm", "/tmp", "/var/tmp") for n in os.listdir(d) if mark in n]
    assert left == []
    assert keep.read_text() == "keep"
    assert_workdirs_removed()


def test_undeletable_working_directory_is_removed(pool, tmp_path):
    keep = tmp_path / "keep.txt"
    keep.write_text("keep")
    keep.chmod(0o644)
    code = ("import os\nos.makedirs('a/b/c')\nopen('a/b/c/f', 'w').close()\nos.mkfifo('a/fifo')\n"
            f"os.symlink({str(tmp_path)!r}, 'a/b/outside')\nos.symlink({str(keep)!r}, 'a/link')\n"
            "for d in ('a/b/c', 'a/b', 'a'):\n    os.chmod(d, 0)\n" + FAILING)
    contained(pool, code)
    assert keep.read_text() == "keep" and keep.stat().st_mode & 0o777 == 0o644  # clean-up followed no link
    assert_workdirs_removed()


# ---- resources -------------------------------------------------------------------------------------
@pytest.mark.parametrize("then", ["failing tests", "passing tests"])
def test_file_descriptor_exhaustion(pool, then):
    code = "fds = []\ntry:\n    while True:\n        fds.append(open('/dev/null'))\nexcept OSError:\n    pass\n"
    if then == "failing tests":
        contained(pool, code + FAILING)
    else:  # reporting needs no new descriptor: graded on its tests like any program
        assert grade(pool, code + PASSING).status == PASSED
        assert_no_process_left()


HUGE_OUTPUT = {
    "exception message": "raise AssertionError('x' * 10 ** 7)\n",
    "one big write": "import os, sys\nos.write(1, b'x' * (64 << 20))\nos.write(2, b'y' * (64 << 20))\n" + FAILING,
    "flood every pipe": ("import os\nfor fd in range(3, 64):\n    try:\n        os.set_blocking(fd, False)\n"
                         "        os.write(fd, b'{' * (8 << 20))\n    except OSError:\n        pass\nos._exit(0)\n"),
}


@pytest.mark.parametrize("kind", sorted(HUGE_OUTPUT))
def test_huge_output(pool, kind):
    result = contained(pool, HUGE_OUTPUT[kind], (FAILED, TIMEOUT))
    assert len(result.detail) <= 500


# ---- system calls --------------------------------------------------------------------------------
SYSCALLS = {
    "setuid(0)": "denied(libc.setuid(0))",
    "ptrace attach": "denied(libc.ptrace(16, os.getppid(), 0, 0))",
    "mount": "denied(libc.mount(b'none', b'.', b'tmpfs', 0, None))",
    "unshare user ns": "denied(libc.unshare(0x10000000))",
    "unshare net ns": "denied(libc.unshare(0x40000000))",
    "setns": "denied(libc.setns(os.open('/proc/self/ns/net', os.O_RDONLY), 0))",
    "chroot": "denied(libc.chroot(b'/'))",
    "SysV shared memory": "denied(libc.shmget(0, 1 << 20, 0o1600))",
    "kill(1)": "denied(libc.kill(1, 9))",
    "process_vm_readv": "denied(libc.process_vm_readv(os.getppid(), None, 0, None, 0, 0))",
}
X86_SYSCALLS = {  # raw numbers (x86_64)
    "clone into a user ns": "r = libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0)\nif r == 0:\n    os._exit(0)\ndenied(r)",
    "bpf": "denied(libc.syscall(321, 0, 0, 0))",
    "keyctl": "denied(libc.syscall(250, 0, -3, 1))",  # KEYCTL_GET_KEYRING_ID of the session keyring
    "io_uring_setup": "denied(libc.syscall(425, 1, None))",
    "mq_open": "denied(libc.syscall(240, b'x', 0o100 | 2, 0o600, None))",
}


@pytest.mark.parametrize("call", sorted(SYSCALLS) + sorted(X86_SYSCALLS))
def test_system_calls_through_ctypes_are_denied(pool, call):
    if call in X86_SYSCALLS and not X86_64:
        pytest.skip("raw x86_64 syscall numbers")
    if not ROOT and not is_bwrap(pool):
        pytest.skip("the fallback runs programs as the grader's uid when not root")
    result = contained(pool, LIBC + {**SYSCALLS, **X86_SYSCALLS}[call] + "\n")
    assert result.detail.endswith("[Errno 1] Operation not permitted"), result  # EPERM, from seccomp or caps


def test_kill_everything_with_ctypes(pool):
    if not ROOT and not is_bwrap(pool):
        pytest.skip("never kill(-1) as the grader's own uid")
    # the program checks itself that it runs under a sandbox uid before it tries
    guard = "if os.getuid() < 2_000_000_000 and not os.path.exists('/run/infill'):\n    raise SystemExit('unsafe')\n"
    code = LIBC + guard + "libc.kill(-1, 9)\n" + FAILING
    result = contained(pool, code)
    assert result.detail == "AssertionError", result  # it survived, and so did everything else


@pytest.mark.parametrize("how", ["kill parent", "kill parent's group", "pidfd_send_signal"])
def test_killing_the_worker(pool, how):
    action = {"kill parent": "os.kill(os.getppid(), 9)",
              "kill parent's group": "os.killpg(os.getpgid(os.getppid()), 9)",
              "pidfd_send_signal": "libc.syscall(424, os.pidfd_open(os.getppid()), 9, None, 0)"}[how]
    code = LIBC + f"try:\n    {action}\nexcept OSError:\n    pass\n" + FAILING
    contained(pool, code)


# ---- network ---------------------------------------------------------------------------------------
def test_no_network(pool):
    if "NO network isolation" in pool.isolation:
        pytest.skip("admitted: no network isolation (no seccomp filter here)")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    try:  # only ever 127.0.0.1: nothing is ever sent off this machine
        code = ("import socket\nopened = []\n"
                "for family in (socket.AF_INET, socket.AF_INET6, socket.AF_UNIX, socket.AF_PACKET, socket.AF_NETLINK):\n"
                "    try:\n        socket.socket(family, socket.SOCK_RAW if family == socket.AF_PACKET else "
                "socket.SOCK_DGRAM).close()\n        opened.append(family)\n    except OSError:\n        pass\n"
                "try:\n"
                f"    socket.create_connection(('127.0.0.1', {port}), timeout=0.3).sendall(b'escaped')\n"
                "    opened.append('connected')\nexcept OSError:\n    pass\n"
                "if opened:\n    raise AssertionError('LEAKED %s' % opened)\n"
                "a, b = socket.socketpair()\na.sendall(b'ok')\nassert b.recv(2) == b'ok'\n"
                "raise AssertionError('contained')\n")
        result = contained(pool, code)
        assert result.detail == "AssertionError: contained", result
        listener.settimeout(0.2)
        with pytest.raises(socket.timeout):
            listener.accept()
    finally:
        listener.close()


def test_network_namespace_has_only_loopback(pools):
    code = ("lines = open('/proc/net/dev').read().splitlines()[2:]\n"
            "assert [l.split(':')[0].strip() for l in lines] == ['lo'], lines\n")
    assert grade(pools("bwrap"), code).status == PASSED


# ---- what the sandbox looks like from inside ------------------------------------------------------
def test_program_has_no_privileges(pool):
    caps = "0000000000000004" if "keep CAP_DAC_READ_SEARCH" in pool.isolation else "0000000000000000"
    code = ("status = dict(line.split(':', 1) for line in open('/proc/self/status'))\n"
            "got = {k: status[k].strip() for k in ('CapEff', 'CapPrm', 'CapAmb', 'NoNewPrivs', 'Seccomp')}\n"
            f"assert got == {{'CapEff': {caps!r}, 'CapPrm': {caps!r}, 'CapAmb': '0' * 16, "
            "'NoNewPrivs': '1', 'Seccomp': '2'}, got\n")
    if not ROOT:
        code = code.replace(caps, "0" * 16)
    assert grade(pool, code).status == PASSED, pool.isolation


def test_bwrap_filesystem_is_minimal(pools):
    p = pools("bwrap")
    assert "keep CAP_DAC_READ_SEARCH" not in p.isolation  # the interpreter is bound readable
    code = ("import os\ntop = set(os.listdir('/'))\n"
            "assert top <= {'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'usr', 'dev', 'proc', 'tmp', 'etc', "
            "'run'} | {os.path.realpath(os.__file__).split('/')[1]}, top\n"
            "assert sorted(os.listdir('/etc')) == ['ld.so.cache', 'localtime', 'ssl'], os.listdir('/etc')\n"
            "assert os.listdir('/etc/ssl') == ['openssl.cnf']\nassert os.listdir('/run') == ['infill']\n"
            f"assert not os.path.exists({str(REPO)!r}) and not os.path.exists('/home')\n"
            "assert os.listdir('/tmp') == [os.path.basename(os.getcwd())], os.listdir('/tmp')\n"
            "pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n"
            "assert pids == [1, 2, os.getpid()], pids  # bwrap's init, the worker, us\n"
            "import hashlib, fractions, decimal, zoneinfo, sqlite3\n"
            "assert hashlib.md5(b'x').hexdigest() == '9dd4e461268c8034f5c8564e155c67a6'\n")
    result = grade(p, code)
    assert result.status == PASSED, result


def test_impersonating_the_reporter(pool):
    """Issue 16 item 9: once a known limit (strict xfail). The nonce is read, and its pipe closed, before the
    program starts: what the program finds in its descriptors is no pass."""
    forge = ("import json, os\nnonce = ''\nfds = [int(fd) for fd in os.listdir('/proc/self/fd')]\n"
             "chans = [fd for fd in fds if os.path.exists('/proc/self/fd/%d' % fd) and "
             "os.readlink('/proc/self/fd/%d' % fd).startswith(('pipe:', 'socket:'))]\n"
             "for fd in chans:\n    os.set_blocking(fd, False)\n    try:\n        nonce += os.read(fd, 64).decode()\n"
             "    except OSError:\n        pass\n"
             "for fd in chans:\n    for claim in (json.dumps({'pid': os.getpid(), 'nonce': nonce}) + '\\n', 'P' + nonce):\n"
             "        try:\n            os.write(fd, claim.encode())\n        except OSError:\n            pass\n"
             "os._exit(0)\n")
    assert grade(pool, forge + FAILING).status == FAILED
