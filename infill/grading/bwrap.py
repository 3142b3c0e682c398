"""The bubblewrap command line of a sandbox worker, and so what its programs can see.

The sandbox's root is an empty read-only tmpfs holding only what the interpreter needs:
``/usr`` (and the ``/bin``, ``/lib*``, ``/sbin`` links or directories beside it), of the Python
installation the worker runs only the interpreter binary, its shared library and the standard library
(bound at their own paths, even under ``/root``; every site-packages or dist-packages directory, there
or under ``/usr``, is covered by an empty read-only tmpfs), three ``/etc`` files the interpreter opens
(the loader cache, the time zone, OpenSSL's configuration for hashlib), the worker's modules (copied in
from descriptors: no host path of the project shows in /proc/1/cmdline or /proc/self/mountinfo), a
fresh ``/dev`` and ``/proc``, and a private size-limited ``/tmp``. Not the project, its caches and
reports, home directories, ``/work``, the rest of ``/etc`` or another worker's files.
"""
from __future__ import annotations

import os
import stat
import sys
import sysconfig

WORKER_PATH = "/run/infill/sandbox_worker.py"  # where the worker script appears inside
# what it imports from beside it, copied in beside it
WORKER_MODULES = ("sandbox_sys.py", "sandbox_child.py", "sandbox_judge.py", "sandbox_memory.py")
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/ssl/openssl.cnf")
# What the worker inside keeps: drop its programs to another uid, kill them, remove whatever
# files they made, and read their memory maps' totals (/proc/PID/smaps_rollup, for the memory
# watchdog). Programs themselves get no capability.
WORKER_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER",
               "CAP_SYS_PTRACE")


def interpreter() -> str:
    """The real interpreter binary (a venv's ``bin/python`` is a link into the base install).

    The worker runs with ``-S``: it and its programs import the standard library only, never a
    site-packages directory, so the venv itself is not needed."""
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


def _covered(path: str, dirs) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in dirs)


def python_dirs() -> list[str]:
    """What of the Python installation programs need that the system directories do not cover: the
    interpreter binary, its shared library (when it is built shared) and the standard library."""
    stdlib = os.path.dirname(os.path.realpath(os.__file__))
    paths = {interpreter(), stdlib}
    libdir, soname = sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("INSTSONAME")
    if libdir and soname and os.path.isfile(os.path.join(libdir, soname)):
        paths.add(os.path.realpath(os.path.join(libdir, soname)))
    system = [os.path.realpath(d) for d in SYSTEM_DIRS if os.path.isdir(d)]
    kept: list[str] = []
    for path in sorted(paths):
        if path != "/" and not _covered(path, system) and not _covered(path, kept):
            kept.append(path)
    return kept


def site_dirs() -> list[str]:
    """Third-party package directories of the base interpreter and the system's Pythons (hidden inside)."""
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}
    stdlib = os.path.dirname(os.path.realpath(os.__file__))
    version = "python%d.%d" % sys.version_info[:2]
    candidates = {sysconfig.get_path(k, vars=base) for k in ("purelib", "platlib")} | {
        os.path.join(stdlib, "site-packages"), os.path.join(stdlib, "dist-packages"),
        "/usr/lib/python3/dist-packages", f"/usr/local/lib/{version}/dist-packages",
        f"/usr/local/lib/{version}/site-packages", f"/usr/lib/{version}/site-packages"}
    return sorted({os.path.realpath(p) for p in candidates if p and os.path.isdir(p)})


def stdlib_paths() -> list[str]:
    """What a program must be able to read to import from the standard library."""
    stdlib = os.path.dirname(os.__file__)
    paths = [interpreter(), stdlib, os.__file__, os.path.join(stdlib, "lib-dynload")]
    return [os.path.realpath(p) for p in paths if os.path.exists(p)]


def readable_by_others(paths, roots=("/",)) -> bool:
    """Whether any uid can reach and read ``paths``, checking the components below the
    deepest of ``roots`` containing each (what bwrap creates above a bind is mode 0755)."""
    for path in paths:
        root = max((r for r in roots if _covered(path, [r])), key=len, default="/")
        current = root
        parts = [p for p in path[len(root):].split("/") if p]
        for i in range(len(parts) + 1):
            try:
                mode = os.stat(current).st_mode
            except OSError:
                return False
            last = i == len(parts)
            need = stat.S_IROTH if last else stat.S_IXOTH
            if stat.S_ISDIR(mode) and last:
                need |= stat.S_IXOTH
            if mode & need != need:
                return False
            if not last:
                current = os.path.join(current, parts[i])
    return True


def _parents(dest: str, made: set[str]) -> list[str]:
    """Create ``dest``'s missing parents with mode 0755 (bwrap would make them 0700)."""
    argv: list[str] = []
    parts = [p for p in dest.split("/") if p][:-1]
    for i in range(1, len(parts) + 1):
        path = "/" + "/".join(parts[:i])
        if path not in made:
            made.add(path)
            argv += ["--perms", "0755", "--dir", path]
    return argv


def _system_binds() -> list[str]:
    argv: list[str] = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    return argv


def _etc_binds(made: set[str]) -> list[str]:
    argv: list[str] = []
    system = [d for d in SYSTEM_DIRS if os.path.isdir(d) and not os.path.islink(d)]
    for path in ETC_FILES:
        target = os.path.realpath(path)
        if not os.path.isfile(target):
            continue
        argv += _parents(path, made)
        if os.path.islink(path) and _covered(target, system):
            argv += ["--symlink", os.readlink(path), path]  # e.g. /etc/localtime -> /usr/share/zoneinfo/...
        else:
            argv += ["--ro-bind", target, path]
    return argv


def command(bwrap: str, root: bool, worker_fds: dict[str, int], python_args: list[str], tmp_size: int,
            env: dict[str, str], read_caps: bool = False) -> list[str]:
    """The full command line: bwrap, its options, then the worker (``python_args`` after the script).

    ``worker_fds``: for the worker script and each of ``WORKER_MODULES``, a descriptor to read it from (to
    pass to bwrap). ``read_caps``: the worker keeps CAP_DAC_READ_SEARCH to pass on to its programs (needed
    only when the interpreter is not readable by other users)."""
    if root:  # no user namespace: programs run as their own unprivileged uid
        argv = [bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    else:
        argv = [bwrap, "--unshare-all"]
    argv += ["--die-with-parent", "--new-session"] + _system_binds()
    argv += ["--dev", "/dev", "--proc", "/proc", "--perms", "0755", "--size", str(tmp_size), "--tmpfs", "/tmp"]
    made = {"/tmp"} | {d for d in SYSTEM_DIRS if os.path.isdir(d)}
    bound = [os.path.realpath(d) for d in SYSTEM_DIRS if os.path.isdir(d) and not os.path.islink(d)]
    for path in python_dirs():  # after /tmp: an interpreter under /tmp stays visible
        argv += _parents(path, made) + ["--ro-bind", path, path]
        bound.append(path)
    for path in site_dirs():
        if _covered(path, bound):
            argv += ["--perms", "0755", "--tmpfs", path, "--remount-ro", path]
    argv += _etc_binds(made) + _parents(WORKER_PATH, made)
    for name in (os.path.basename(WORKER_PATH),) + WORKER_MODULES:
        argv += ["--ro-bind-data", str(worker_fds[name]), os.path.join(os.path.dirname(WORKER_PATH), name)]
    argv += ["--remount-ro", "/", "--clearenv"]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    if root:
        argv += ["--cap-drop", "ALL"]
        for cap in WORKER_CAPS + (("CAP_DAC_READ_SEARCH",) if read_caps else ()):
            argv += ["--cap-add", cap]
    return argv + ["--chdir", "/", "--", interpreter(), "-s", "-S", WORKER_PATH] + python_args


# ---- for other sandboxes' command lines (infill.grading.multilang) ----------------------------
def base_binds(made: set[str]) -> list[str]:
    """The system directories and the /etc files every sandbox here sees (parents it creates go in ``made``)."""
    return _system_binds() + _etc_binds(made)


def bind_parents(dest: str, made: set[str]) -> list[str]:
    """Options creating ``dest``'s missing parents with mode 0755 (see ``_parents``)."""
    return _parents(dest, made)
