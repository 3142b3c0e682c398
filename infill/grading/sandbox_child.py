"""The program's process, from the worker's fork to ``exec(program, {})`` (stdlib only, no imports from
``infill``; runs inside the sandbox).

Set-up, before the program: its own process group and uid, rlimits, no capabilities (unless the interpreter is
readable only with CAP_DAC_READ_SEARCH), PR_SET_NO_NEW_PRIVS and the seccomp filter, then stdio on /dev/null,
every other descriptor closed but the result socket, a fresh working directory and a cleared environment.

Messages to the worker, one datagram each on the result socket (the worker learns the sender's pid from the
kernel, SCM_CREDENTIALS, so a fork of the program cannot speak for it): ``R`` when set up, ``E<line>`` if set-up
failed, then ``P<nonce>`` if exec returned, or ``F<json>`` with the exception that ended it.

The pass claim is sealed away from the program's Python objects (``sealed_run``): the nonce is read (and its pipe
closed) before the program starts, and lives only in a chain of C-level iterators that calls exec and, only if
exec returns, writes the claim and exits. No Python frame holds the chain (the program's caller frames are the
worker's serve loop, which holds none of it), and its objects are removed from the garbage collector's lists,
so ``sys._getframe``, frame locals, ``gc.get_objects`` (after ``gc.unfreeze`` too), ``gc.get_referrers`` and the
descriptors in /proc/self/fd lead to nothing that can claim a pass. What remains: a program that reads its own
process's memory (ctypes, /proc/self/mem, crafted bytecode) can find the nonce and send the claim itself.
"""
import collections
import ctypes
import functools
import gc
import itertools
import json
import os
import resource
import signal
import sys

import sandbox_sys as sx

SETUP_FAILED = 113  # exit status when set-up failed
DETAIL_MAX = 500
NONCE_BYTES = 32
MAX_FILES = 1024  # open descriptors per process (the usual default; each can hold kernel buffers)
_write, _exit, _dumps = os.write, os._exit, json.dumps  # bound before any program runs
_MEMORY = b'F{"status": "memory", "detail": "MemoryError"}'  # ready before memory runs out
_SEALED_TYPES = (functools.partial, itertools.chain, itertools.repeat, itertools.starmap, map, tuple,
                 type(iter(())), dict)


class NoInput:
    """Stands in for sys.stdin like the reference harness: every read raises OSError."""

    def _fail(self, *args, **kwargs):
        raise OSError("reading stdin is not allowed")

    read = readline = readlines = __iter__ = __next__ = _fail

    def readable(self):
        return False

    def isatty(self):
        return False

    def close(self):
        pass


def exception_line(exc):
    name = type(exc).__qualname__
    try:
        message = str(exc)
    except BaseException:
        message = "<unprintable>"
    line = "%s: %s" % (name, message) if message else name
    return " ".join(line.split())[:DETAIL_MAX]


def set_up(w, workdir, res_fd, nonce_fd):
    """Everything before the program, in the forked child; raises if anything fails. ``w``: the Worker."""
    os.setpgid(0, 0)  # own process group (setsid costs ~4 ms here: autogroups)
    cpu = int(w.timeout) + 2
    limits = [(resource.RLIMIT_CPU, cpu, cpu + 1), (resource.RLIMIT_CORE, 0, 0),
              (resource.RLIMIT_FSIZE, w.fsize, w.fsize), (resource.RLIMIT_NOFILE, MAX_FILES, MAX_FILES)]
    if w.memory > 0:
        limits.append((resource.RLIMIT_AS, w.memory, w.memory))
    if w.uid is not None:  # counted per uid: only meaningful with our own uid
        limits.append((resource.RLIMIT_NPROC, w.nproc, w.nproc))
    for which, soft, hard in limits:
        resource.setrlimit(which, (soft, hard))
    if w.uid is not None:
        if w.caps:
            sx.prctl(8, 1)  # PR_SET_KEEPCAPS across setuid, then keep only read access
        os.setgroups([])
        os.setgid(w.uid)
        os.setuid(w.uid)  # without KEEPCAPS this clears every capability
        if w.caps:
            if sx.libc().capset(w.caps[0], w.caps[1]) != 0:
                raise OSError("capset failed")
            sx.prctl(8, 0)
    sx.prctl(38, 1)  # PR_SET_NO_NEW_PRIVS
    if w.seccomp:
        sx.install_seccomp(w.seccomp)
    if not w.pidns:  # (the namespace dies with the worker anyway)
        sx.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG, after setuid which clears it
        if os.getppid() != w.self_pid:
            raise OSError("worker gone")
    os.chdir(workdir)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    low = 3
    for keep in sorted((res_fd, nonce_fd)):
        os.closerange(low, keep)
        low = keep + 1
    os.closerange(low, 1 << 20)
    os.environ["HOME"] = os.environ["TMPDIR"] = workdir  # the rest was set at start-up
    sys.stdin = NoInput()
    sys.argv = [""]
    if "random" in sys.modules:
        sys.modules["random"].seed(0)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGALRM):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def sealed_run(program, res_fd, nonce_fd):
    """One C-level callable: exec(program, {}); then, only if exec returned, the pass claim and _exit(0)."""
    nonce = b""
    while len(nonce) < NONCE_BYTES:
        chunk = os.read(nonce_fd, NONCE_BYTES - len(nonce))
        if not chunk:
            raise OSError("no nonce from the worker")
        nonce += chunk
    os.close(nonce_fd)
    namespace = {}
    steps = (map(exec, itertools.repeat(program, 1), itertools.repeat(namespace, 1)),
             itertools.starmap(_write, itertools.repeat((res_fd, b"P" + nonce), 1)),
             itertools.starmap(_exit, itertools.repeat((0,), 1)))
    run = functools.partial(collections.deque, itertools.chain(*steps), maxlen=0)
    del nonce, steps
    _hide(run, namespace)
    return run


def _hide(root, namespace):
    """Take ``root`` and the iterators, tuples and dicts under it off the garbage collector's lists (not the
    program's globals ``namespace``: it reaches them anyway), and keep them alive: some of their deallocators
    assume that they are listed."""
    api, seen, todo = ctypes.pythonapi, set(), [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or obj is namespace or not isinstance(obj, _SEALED_TYPES):
            continue
        seen.add(id(obj))
        todo += gc.get_referents(obj)
        api.Py_IncRef(ctypes.py_object(obj))
        if gc.is_tracked(obj):
            api.PyObject_GC_UnTrack(ctypes.py_object(obj))


def report_failure(res_fd, exc):
    """Tell the worker how the program ended (an exception out of exec), then leave: never returns."""
    try:
        if isinstance(exc, MemoryError):
            message = _MEMORY
        else:
            if isinstance(exc, SystemExit):
                try:
                    code = repr(exc.code) if isinstance(exc.code, str) else str(exc.code)
                except BaseException:
                    code = "?"
                detail = ("exited before the tests completed (SystemExit %s)" % code)[:DETAIL_MAX]
            else:
                detail = exception_line(exc)
            message = b"F" + _dumps({"status": "failed", "detail": detail}).encode()
    except MemoryError:
        message = _MEMORY
    except BaseException:
        message = b'F{"status": "failed", "detail": "<unprintable exception>"}'
    try:
        _write(res_fd, message)
    except BaseException:
        pass
    _exit(0)
