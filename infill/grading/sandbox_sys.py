"""Operating-system helpers for the sandbox worker: stdlib only, no imports from ``infill``.

Bound next to ``sandbox_worker.py`` inside the sandbox. Capabilities and the seccomp filter
(through ctypes), killing whatever a program left running, and removing the files it left.
"""
import errno
import os
import signal
import stat
import sys
import time

_LIBC = []
CAP_DAC_READ_SEARCH = 2


def libc():
    if not _LIBC:
        import ctypes
        _LIBC.append(ctypes.CDLL(None, use_errno=True))
    return _LIBC[0]


def prctl(option, value):
    if libc().prctl(option, value, 0, 0, 0) != 0:
        raise OSError("prctl(%d) failed" % option)


def seccomp_args(blob):
    """(prctl function, pointer to a ``struct sock_fprog``, buffers to keep alive) for ``blob``."""
    import ctypes

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    buf = ctypes.create_string_buffer(blob, len(blob))
    prog = Prog(len(blob) // 8, ctypes.addressof(buf))
    function = libc()["prctl"]  # a fresh function object: its own argtypes
    function.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong)
    return function, ctypes.byref(prog), (buf, prog)


def install_seccomp(args):
    function, prog, _ = args
    if function(22, 2, prog, 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        raise OSError("installing the seccomp filter failed")


def read_only_caps():
    """Arguments for capset(2) leaving CAP_DAC_READ_SEARCH (read any file, nothing else).

    Only when the interpreter lives somewhere other users cannot read (pyenv under /root,
    outside bubblewrap): programs run under their own uid still need to import the stdlib."""
    import ctypes

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    header = Header(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (Data * 2)()
    data[0].effective = data[0].permitted = 1 << CAP_DAC_READ_SEARCH
    return ctypes.byref(header), data, header


def oom_kills():
    """The machine's OOM-kill count (to tell a memory kill from any other SIGKILL)."""
    try:
        with open("/proc/vmstat", "rb") as f:
            for line in f:
                if line.startswith(b"oom_kill "):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


# ---- processes ------------------------------------------------------------------------------
def reap():
    """Reap exited children; True while live children remain."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True


def descendants(root_pid):
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as f:
                ppid = int(f.read().rpartition(b")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root_pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def program_pids(self_pid, pidns):
    """The live processes of the running program (with ``pidns``: all but init and the worker)."""
    if pidns:
        return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, self_pid)]
    return descendants(self_pid)


def kill_leftovers(self_pid, pidns):
    """Kill and reap every process a program left (daemons included); False if some survived 10 s. The
    caller is a subreaper, and with ``pidns`` the only process of its PID namespace besides init."""
    give_up = time.monotonic() + 10.0
    while time.monotonic() < give_up:
        alive = reap()
        if pidns:
            if not program_pids(self_pid, True):
                return True
            try:
                os.kill(-1, signal.SIGKILL)  # everything in our namespace but us and init
            except ProcessLookupError:
                pass
        else:
            if not alive:  # we are a subreaper: no child means no descendant at all
                return True
            for victim in descendants(self_pid):
                try:
                    os.kill(victim, signal.SIGKILL)
                except OSError:
                    pass
        time.sleep(0.0005)
    sys.stderr.write("sandbox worker: could not kill every leftover process\n")
    return False


# ---- files ------------------------------------------------------------------------------------
def remove_owned(path, uid, depth):
    """Remove what ``uid`` owns in ``path``, and in world-writable directories below it
    (``depth`` levels). Run once the uid has no process left: nothing can race it."""
    try:
        entries = list(os.scandir(path))
    except OSError:
        return
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
            if st.st_uid == uid:
                if stat.S_ISDIR(st.st_mode):
                    rmtree(entry.path)
                else:
                    os.unlink(entry.path)
            elif depth > 1 and stat.S_ISDIR(st.st_mode) and st.st_mode & 0o002:
                remove_owned(entry.path, uid, depth - 1)
        except OSError:
            pass


_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def rmtree(path):
    """Remove a tree a program made, whatever its depth, names or modes: iterative (no recursion limit),
    relative to one open directory at a time (no path-length limit, no descriptor per level), never following
    a symlink. Going back up uses "..", checked against the device and inode seen on the way down, so a tree
    moved while it is removed stops the removal (OSError) instead of removing elsewhere."""
    head, name = os.path.split(os.path.normpath(path))
    fd = os.open(head or "/", _DIR)
    levels = [(_ident(fd), [name])]  # per level from the top: (dev, ino), subdirectories left to remove
    try:
        while True:
            todo = levels[-1][1]
            if todo:
                child = _open_dir(fd, todo[-1])
                if child is None:  # gone, or not a directory (then unlinked)
                    todo.pop()
                    continue
                os.close(fd)
                fd = child
                levels.append((_ident(fd), _remove_files(fd)))
            elif len(levels) == 1:
                return
            else:
                levels.pop()
                parent = os.open("..", _DIR, dir_fd=fd)
                os.close(fd)
                fd = parent
                if _ident(fd) != levels[-1][0]:
                    raise OSError("a tree being removed was moved: %s" % path)
                _retry_writable(fd, lambda: os.rmdir(levels[-1][1][-1], dir_fd=fd))
                levels[-1][1].pop()
    finally:
        os.close(fd)


def _ident(fd):
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def _retry_writable(fd, action):
    """``action`` (an unlink or rmdir in ``fd``), making the directory writable first if it is not."""
    try:
        action()
    except FileNotFoundError:
        pass
    except PermissionError:
        os.fchmod(fd, 0o700)
        action()


def _open_dir(fd, name):
    """``name`` in ``fd`` opened as a directory; None if it is gone, or is not a directory (it is unlinked)."""
    try:
        return os.open(name, _DIR, dir_fd=fd)
    except FileNotFoundError:
        return None
    except PermissionError:
        os.chmod(name, 0o700, dir_fd=fd)  # a directory (O_NOFOLLOW gave no ELOOP) that nothing can change now
        return os.open(name, _DIR, dir_fd=fd)
    except OSError as exc:
        if exc.errno not in (errno.ENOTDIR, errno.ELOOP):  # ELOOP: a symlink
            raise
        _retry_writable(fd, lambda: os.unlink(name, dir_fd=fd))
        return None


def _remove_files(fd):
    """Unlink every entry of ``fd`` but its subdirectories; their names."""
    subdirs = []
    with os.scandir(fd) as entries:
        listed = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
    for name, is_dir in listed:
        if is_dir:
            subdirs.append(name)
        else:
            _retry_writable(fd, lambda: os.unlink(name, dir_fd=fd))
    return subdirs


def world_writable_dirs(roots=("/",), depth=3, skip=("/proc", "/sys")):
    """Directories every user may write to, down to ``depth`` levels below ``roots`` (symlinks not followed;
    /dev/shm and the like included): where a program of the rlimits fallback can leave files."""
    found, todo = [], [(root, 0) for root in roots]
    while todo:
        path, level = todo.pop()
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            continue
        if st.st_mode & 0o002:
            found.append(path)
        if level < depth and path not in skip:
            try:
                names = os.listdir(path)
            except OSError:
                continue
            todo += [(os.path.join(path, n), level + 1) for n in names]
    return sorted(set(found))
