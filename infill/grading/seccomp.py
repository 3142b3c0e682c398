"""The seccomp filter every sandboxed program runs under (built here, installed by the worker).

HumanEval programs need none of what it denies: new namespaces (a user namespace would give a
program root-like powers over fresh mounts), mounts, ptrace and cross-process memory access,
kernel keyrings, BPF, io_uring, module and kexec loading, SysV and POSIX message/semaphore/shared
memory objects (they outlive the program), anonymous memory files (``memfd_create``: unmapped, their
pages escape the address-space limit and the memory watchdog), sockets of any family (``socketpair``
stays allowed) and taking another process's file descriptors. Denied calls fail with EPERM; ``clone3`` fails
with ENOSYS so that the C library falls back to ``clone``, whose namespace flags are checked.
Other architectures' syscalls (32-bit ``int 0x80``) kill the process; x32 calls fail.
"""
from __future__ import annotations

import platform
import struct
import sys

_DENIED = ("unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "ptrace", "process_vm_readv",
           "process_vm_writev", "pidfd_getfd", "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key",
           "request_key", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
           "open_by_handle_at", "io_uring_setup", "io_uring_enter", "io_uring_register", "open_tree",
           "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "swapon", "swapoff",
           "reboot", "syslog", "acct", "quotactl", "quotactl_fd", "shmget", "semget", "msgget", "mq_open",
           "socket", "memfd_create")
_NUMBERS = {  # checked against <asm/unistd_64.h> and <asm-generic/unistd.h>
    "x86_64": (0xC000003E, dict(zip(_DENIED + ("clone", "clone3"), (
        272, 308, 165, 166, 155, 161, 101, 310, 311, 438, 321, 298, 323, 250, 248, 249, 246, 320, 175, 313,
        176, 304, 425, 426, 427, 428, 429, 430, 431, 432, 433, 442, 167, 168, 169, 103, 163, 179, 443, 29,
        64, 68, 240, 41, 319, 56, 435)))),
    "aarch64": (0xC00000B7, dict(zip(_DENIED + ("clone", "clone3"), (
        97, 268, 40, 39, 41, 51, 117, 270, 271, 438, 280, 241, 282, 219, 217, 218, 104, 294, 105, 273,
        106, 265, 425, 426, 427, 428, 429, 430, 431, 432, 433, 442, 224, 225, 142, 116, 89, 60, 443, 194,
        190, 186, 180, 198, 279, 220, 435)))),
}
_CLONE_NEW = 0x7E020000  # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
_LD_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _ERRNO, _KILL_PROCESS = 0x7FFF0000, 0x00050000, 0x80000000
_EPERM, _ENOSYS = 1, 38


def architecture() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


def available() -> str | None:
    """None if the filter can be used here, else why not."""
    arch = architecture()
    if arch not in _NUMBERS or sys.byteorder != "little":
        return f"no syscall table for {arch} ({sys.byteorder}-endian)"
    try:
        with open("/proc/self/status") as f:
            if not any(line.startswith("Seccomp:") for line in f):
                return "the kernel has no seccomp support"
    except OSError:
        return "cannot read /proc/self/status"
    return None


def program_filter() -> bytes:
    """The filter as an array of ``struct sock_filter`` for ``prctl(PR_SET_SECCOMP)``."""
    audit_arch, nr = _NUMBERS[architecture()]
    code: list[tuple[int, object, object, int]] = [
        (_LD_ABS, 0, 0, 4),  # seccomp_data.arch
        (_JEQ, 0, "kill", audit_arch),
        (_LD_ABS, 0, 0, 0),  # seccomp_data.nr
    ]
    if architecture() == "x86_64":
        code.append((_JGE, "eperm", 0, 0x40000000))  # the x32 ABI
    code += [(_JEQ, "eperm", 0, nr[name]) for name in _DENIED]
    code += [(_JEQ, "enosys", 0, nr["clone3"]), (_JEQ, "clone", 0, nr["clone"]), (_RET, 0, 0, _ALLOW)]
    labels = {"clone": len(code)}
    code += [(_LD_ABS, 0, 0, 16), (_JSET, "eperm", 0, _CLONE_NEW), (_RET, 0, 0, _ALLOW)]  # low half of args[0]
    for label, value in (("eperm", _ERRNO | _EPERM), ("enosys", _ERRNO | _ENOSYS), ("kill", _KILL_PROCESS)):
        labels[label] = len(code)
        code.append((_RET, 0, 0, value))

    def jump(target, at):
        offset = target if isinstance(target, int) else labels[target] - at - 1
        assert 0 <= offset < 256
        return offset

    return b"".join(struct.pack("=HBBI", op, jump(jt, i), jump(jf, i), k) for i, (op, jt, jf, k) in enumerate(code))


def describe() -> str:
    return ("seccomp filter (no sockets, namespaces, mounts, ptrace, keyrings, BPF, io_uring, "
            "SysV/POSIX IPC objects, memfd)")

