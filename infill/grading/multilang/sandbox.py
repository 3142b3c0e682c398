"""Command lines of the engine's sandboxes: a runner worker (compiles and runs programs) and a compile server.

With bubblewrap, each is one sandbox like the HumanEval pool's (``infill.grading.bwrap``): an empty read-only root
holding ``/usr`` and its links, the worker's Python installation, three ``/etc`` files, plus what the toolchains
read under ``/etc`` (``/etc/alternatives`` links, the JDK's configuration, Mono's), the worker's scripts and,
read-only, the precompiled header; a fresh ``/dev`` and ``/proc``, a private size-limited ``/tmp``, no network
(empty network namespace), PID, IPC and UTS namespaces, the worker keeping only the capabilities it needs to give
programs their own uid and clean up after them. Without bubblewrap the worker runs bare (rlimits only) from a
private directory holding copies of its scripts.
"""
from __future__ import annotations

import glob
import os
import shutil
import tempfile
from pathlib import Path

from infill.grading import bwrap as _bwrap

HERE = Path(__file__).resolve().parent
WORKER_FILES = (HERE / "runner_worker.py", HERE / "runner_exec.py", HERE / "frames.py",
                HERE.parent / "sandbox_sys.py")
INSIDE = "/run/infill"  # where the worker's scripts appear in a sandbox
PCH_INSIDE = INSIDE + "/pch"
PATH = "/usr/local/bin:/usr/bin:/bin"
PROGRAM_ENV = {"PATH": PATH, "TZ": "Etc/UTC", "PYTHONHASHSEED": "0"}  # HOME and TMPDIR: a scratch dir per run
COMPILE_ENV = {"PATH": PATH, "LANG": "C.UTF-8", "TZ": "Etc/UTC"}  # UTF-8 sources (see languages.py)
WORKER_ENV = {"PATH": PATH, "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
TMP_SIZE = 512 << 20


def toolchain_etc_paths() -> list[str]:
    """What the toolchains read under /etc: the alternatives links, the JDK's configuration, Mono's."""
    paths = {"/etc/alternatives", "/etc/mono"}
    for jdk in glob.glob("/usr/lib/jvm/*/"):
        for root, _, files in os.walk(jdk):
            for name in files:
                full = os.path.join(root, name)
                if os.path.islink(full) and os.readlink(full).startswith("/etc/"):
                    parts = os.readlink(full).split("/")
                    paths.add("/".join(parts[:3]))  # /etc/<dir>
    return sorted(p for p in paths if os.path.isdir(p) and not os.path.islink(p))


def _interpreter_binds(made: set[str]) -> list[str]:
    argv: list[str] = []
    for path in _bwrap.python_dirs():
        argv += _bwrap.bind_parents(path, made) + ["--ro-bind", path, path]
    return argv


def bwrap_command(bwrap: str, root: bool, payload: list[str], extra_binds: list[tuple[str, str]]) -> list[str]:
    """bubblewrap, its options, then ``payload`` (the worker script with its arguments, run by our Python)."""
    if root:  # no user namespace: programs get uids of their own
        argv = [bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    else:
        argv = [bwrap, "--unshare-all"]
    argv += ["--die-with-parent", "--new-session"]
    made = {"/tmp"} | {d for d in _bwrap.SYSTEM_DIRS if os.path.isdir(d)}
    argv += _bwrap.base_binds(made)
    argv += ["--dev", "/dev", "--proc", "/proc", "--perms", "0755", "--size", str(TMP_SIZE), "--tmpfs", "/tmp"]
    argv += _interpreter_binds(made)
    for path in toolchain_etc_paths():
        argv += _bwrap.bind_parents(path, made) + ["--ro-bind", path, path]
    binds = [(str(f), f"{INSIDE}/{f.name}") for f in WORKER_FILES] + list(extra_binds)
    for source, dest in binds:
        argv += _bwrap.bind_parents(dest, made) + ["--ro-bind", source, dest]
    argv += ["--remount-ro", "/", "--clearenv"]
    for key, value in WORKER_ENV.items():
        argv += ["--setenv", key, value]
    if root:
        argv += ["--cap-drop", "ALL"]
        for cap in _bwrap.WORKER_CAPS:
            argv += ["--cap-add", cap]
    return argv + ["--chdir", "/", "--", _bwrap.interpreter(), "-s", "-S", f"{INSIDE}/runner_worker.py", *payload]


def bare_command(payload: list[str]) -> tuple[list[str], str]:
    """The worker run without a sandbox from a private directory holding copies of its scripts: (argv, dir)."""
    tmp_root = tempfile.mkdtemp(prefix="infill-multilang-")
    os.chmod(tmp_root, 0o711)  # programs under their own uid reach their directory below it
    scripts = os.path.join(tmp_root, "bin")
    os.mkdir(scripts, 0o755)
    for f in WORKER_FILES:
        shutil.copy(f, os.path.join(scripts, f.name))
    return [_bwrap.interpreter(), "-s", "-S", os.path.join(scripts, "runner_worker.py"), *payload], tmp_root


def describe_bwrap(version: str, root: bool, seccomp: str) -> str:
    ns = "PID, IPC and UTS namespaces" if root else "PID, IPC, UTS and user namespaces"
    uid = ("programs and compilers each under a uid of their own (per worker)" if root
           else "programs under the grader's uid (no per-uid process limit)")
    return (f"{version}: no network (empty network namespace), minimal read-only filesystem (/usr, the worker's "
            f"Python, {len(_bwrap.ETC_FILES)} /etc files and the toolchains' /etc configuration; not the project, "
            f"home directories or caches), private /tmp ({TMP_SIZE >> 20} MiB), {ns}, {uid}, no capabilities, "
            f"{seccomp}, ExecEval's rlimits per language, whole process tree killed after each run, a fresh "
            f"HOME/TMPDIR per run, the program's files read-only")


def describe_bare(root: bool, seccomp: str, reason: str | None) -> str:
    why = f" ({reason})" if reason else ""
    uid = ("programs and compilers each under a uid of their own (per worker); files they leave in /tmp, "
           "/var/tmp and /dev/shm removed after each run" if root else
           "programs under the grader's uid: they can read and write every file the grader can, no per-uid "
           "process limit")
    net = "no sockets (seccomp)" if seccomp.startswith("seccomp") else "NO network isolation"
    return (f"rlimits only{why}: NO filesystem isolation, {net}, every process visible (no PID namespace), {uid}, "
            f"{seccomp}, ExecEval's rlimits per language, whole process tree killed after each run")
