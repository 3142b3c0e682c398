"""The memory of one program, all its processes together: what the sandbox worker's watchdog samples while a
program runs (stdlib only, no imports from ``infill``; runs inside the sandbox).

RLIMIT_AS bounds each process; a program may start up to ``max_processes`` of them. Without a cgroup memory
controller of our own (see ``execution.py``) the worker adds up, every few milliseconds, what the program's
processes hold: anonymous and shared-memory pages, resident or swapped, plus the files in its private /tmp
(tmpfs is memory). Pages that a fork shares with its parent are counted once per process by the cheap
``/proc/PID/status`` figures, so only when they exceed the limit is the proportional share (PSS, from
``/proc/PID/smaps_rollup``, which counts a shared page once in all) added up to decide.

Not counted: kernel memory a program holds through descriptors (pipe and socket buffers), and whatever it
allocates between two samples (at most a few tens of MB at page-fault speed).
"""
import os

_QUICK = (b"RssAnon:", b"RssShmem:", b"VmSwap:")
_PRECISE = (b"Pss_Anon:", b"Pss_Shmem:", b"SwapPss:")


def _sum_kb(path, keys):
    total = 0
    try:
        with open(path, "rb") as f:
            for line in f:
                if line.startswith(keys):
                    total += int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass  # the process is gone
    return total << 10


def files_in(path):
    """Bytes used on the file system at ``path`` (the program's private tmpfs /tmp)."""
    try:
        st = os.statvfs(path)
    except OSError:
        return 0
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def total_if_over(pids, limit, tmp=None):
    """None while ``pids`` (and the files in ``tmp``) hold at most ``limit`` bytes together; else the total."""
    extra = files_in(tmp) if tmp else 0
    if extra + sum(_sum_kb("/proc/%d/status" % pid, _QUICK) for pid in pids) <= limit:
        return None
    precise = extra + sum(_sum_kb("/proc/%d/smaps_rollup" % pid, _PRECISE) for pid in pids)
    return precise if precise > limit else None
