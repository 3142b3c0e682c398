"""The one-line description of a sandbox pool's isolation, written next to every verdict: what is contained, and
what is admitted not to be (the tests hold each mode to what its line admits)."""
from __future__ import annotations

from infill.grading import bwrap as _bwrap
from infill.grading import seccomp as _seccomp


def describe(config, *, bwrap_version: str | None, root: bool, read_caps: bool, seccomp_on: bool,
             no_filter: str | None, reason: str | None, clean_dirs: list[str]) -> str:
    """``bwrap_version``: the bubblewrap in use, None for the rlimits fallback (then ``reason`` says why)."""
    c = config
    limits = (f"rlimits ({c.timeout_s:g} s wall, {c.memory_mb} MB address space per process, "
              f"{c.max_processes} processes, {c.max_file_mb} MB files, 1024 descriptors)")
    memory = (f"{c.memory_mb} MB for all of a program's processes together (sampled by the worker every "
              f"{10 if bwrap_version else 50} ms: no cgroup memory controller of its own)")
    common = ("own process group, whole process tree killed after each program, cleared env, "
              "fresh private working dir, stdio /dev/null")
    uid = "own uid per worker" if root else "same uid as the grader"
    caps = ("no capabilities" if not read_caps else "programs keep CAP_DAC_READ_SEARCH (the "
            "interpreter is not readable by other users: they can read every file they can see)")
    sec = _seccomp.describe() if seccomp_on else f"NO seccomp filter ({no_filter})"
    if bwrap_version:
        ns = "PID and IPC namespaces" if root else "PID, IPC and user namespaces"
        return (f"{bwrap_version}: no network (empty network namespace), minimal read-only filesystem (the "
                f"interpreter and its standard library without site-packages, /usr, {len(_bwrap.ETC_FILES)} /etc "
                f"files; not the project, home directories, caches or other workers' files), private /tmp, {ns}, "
                f"{uid}, {caps}, {sec}, {limits}, {memory}, {common}")
    if not root:
        files = "programs can read and write every file the grader can"
    else:
        files = ("programs can read " + ("every file on the machine" if read_caps else
                                         "every file readable by all users")
                 + ", and write where all users can; what they leave in " + ", ".join(clean_dirs)
                 + " (the world-writable directories up to 3 levels deep) is removed after each program")
    net = "no sockets (seccomp)" if seccomp_on else "NO network isolation"
    why = f" ({reason})" if reason else ""
    return (f"rlimits only{why}: NO filesystem isolation ({files}), {net}, every process visible (no PID "
            f"namespace), {uid}, {caps}, {sec}, {limits}, {memory}, {common}")
