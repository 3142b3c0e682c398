"""Sandbox worker of the multi-language engine: stdlib only (with ``frames.py``, ``runner_exec.py`` and
``sandbox_sys.py`` beside it), no imports from ``infill``.

``python -s -S runner_worker.py serve CONFIG_JSON`` answers frames (``frames.py``) on its stdin/stdout, moved to
private descriptors at start-up:

- ``install``: a fresh program directory holding the given files (owned by the worker, read-only to programs);
- ``compile``: run a compiler in the program directory under the compile uid (ExecEval's 60 s), keep the files the
  host names (returned for its cache), delete the rest, hand the directory back to the worker;
- ``run``: run the program once on one test's input under the program uid and limits (``runner_exec.py``), then
  kill every process it left and remove its scratch directory (HOME, TMPDIR);
- ``reset``: remove the program directory.

``python -s -S runner_worker.py exec-as CONFIG_JSON ARGV...`` drops to the configured uid, limits and filter in a
working directory of its own and execs ARGV (how a long-lived compile server is started in its own sandbox).
"""
import json
import os
import shutil
import sys

import frames
import runner_exec
import sandbox_sys as sx


def _tree_owner(path, uid, dir_mode=0o755):
    """chown a tree (symlinks not followed) and make it read-only for everyone but its owner."""
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, uid, follow_symlinks=False)
        os.chmod(root, dir_mode)
        for name in files:
            full = os.path.join(root, name)
            os.chown(full, uid, uid, follow_symlinks=False)
            if not os.path.islink(full):
                os.chmod(full, 0o755 if os.stat(full).st_mode & 0o100 else 0o644)


class Worker:
    def __init__(self, cfg):
        self.tmp_root = cfg["tmp_root"]
        self.pidns = bool(cfg.get("pidns")) and os.getpid() == 2
        self.self_pid = os.getpid()
        base = cfg.get("uid_base") if os.geteuid() == 0 else None
        self.program_uid, self.compile_uid = (base, base + 1) if base else (None, None)
        self.seccomp = sx.seccomp_args(bytes.fromhex(cfg["seccomp"])) if cfg.get("seccomp") else None
        self.env, self.compile_env = dict(cfg["env"]), dict(cfg["compile_env"])
        self.clean_dirs = list(cfg.get("clean_dirs") or ()) if self.program_uid else []
        self.program_dir = os.path.join(self.tmp_root, "program")
        self.scratch = os.path.join(self.tmp_root, "scratch")
        self.in_fd, self.out_fd = os.dup(0), os.dup(1)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.close(devnull)
        sx.prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: whatever a program leaves behind stays ours
        if not self.pidns:
            sx.prctl(1, 9)  # PR_SET_PDEATHSIG SIGKILL: die with the pool
            if os.getppid() == 1:
                raise SystemExit("parent already gone")
        os.makedirs(self.tmp_root, exist_ok=True)
        os.chmod(self.tmp_root, 0o711 if self.program_uid else 0o700)

    # ---- protocol -----------------------------------------------------------------------------
    def serve(self):
        reader = frames.FrameReader(self.in_fd)
        self.send({"ready": True, "pid": self.self_pid, "pidns": self.pidns, "uid": self.program_uid,
                   "tmp_root": self.tmp_root})
        while True:
            try:
                header, blobs = reader.read()
            except frames.FrameError:
                return
            try:
                reply, out = getattr(self, "op_" + header["op"])(header, blobs)
            except Exception as exc:  # ours, never the program's: the host treats it as a sandbox fault
                self.send({"error": "%s: %s" % (type(exc).__name__, exc)})
                raise
            self.send(reply, out)

    def send(self, header, blobs=()):
        frames.write_all(self.out_fd, frames.encode(header, blobs))

    # ---- operations -----------------------------------------------------------------------------
    def _clean(self):
        sx.kill_leftovers(self.self_pid, self.pidns)
        for path in (self.program_dir, self.scratch):
            if os.path.lexists(path):
                sx.rmtree(path)
        for path in self.clean_dirs:
            sx.remove_owned(path, self.program_uid, 2)
            sx.remove_owned(path, self.compile_uid, 2)

    def op_install(self, header, blobs):
        self._clean()
        os.mkdir(self.program_dir, 0o755)
        for name, data in zip(header["files"], blobs):
            path = os.path.join(self.program_dir, name)
            if os.path.isabs(name) or ".." in name.split("/"):
                raise ValueError("bad file name %r" % name)
            os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
            os.chmod(path, 0o755 if name in header.get("executable", ()) else 0o644)
        return {"ok": True}, ()

    def _spec(self, argv, env, limits, cpu_seconds, uid):
        return {"argv": list(argv), "cwd": self.program_dir, "env": env, "limits": limits,
                "cpu_seconds": cpu_seconds, "uid": uid, "seccomp": self.seccomp, "pdeathsig": not self.pidns,
                "parent": self.self_pid}

    def _scratch(self, uid):
        os.mkdir(self.scratch, 0o700)
        if uid is not None:
            os.chown(self.scratch, uid, uid)
        return dict(HOME=self.scratch, TMPDIR=self.scratch)

    def _after_run(self):
        sx.kill_leftovers(self.self_pid, self.pidns)
        sx.rmtree(self.scratch)
        for path in self.clean_dirs:
            sx.remove_owned(path, self.program_uid, 2)
            sx.remove_owned(path, self.compile_uid, 2)

    def op_compile(self, header, blobs):
        uid = self.compile_uid
        if uid is not None:
            _tree_owner(self.program_dir, uid)
        env = dict(self.compile_env, **self._scratch(uid))
        spec = self._spec(header["argv"], env, header["limits"], header["cpu_seconds"], uid)
        try:
            facts = runner_exec.run(spec, b"", header["timeout"], 1 << 20, self._kill)
        finally:
            self._after_run()
        _tree_owner(self.program_dir, os.geteuid())
        kept, data = self._keep(header["source"], header["keep_exact"], header["keep_suffix"])
        out = [facts.pop("stdout", b""), facts.pop("stderr", b"")] + data
        return dict(facts, files=kept), out

    def _keep(self, source, exact, suffixes):
        """Delete what the compiler wrote that is not part of the program; the kept files' bytes."""
        kept, data = [], []
        for root, dirs, files in os.walk(self.program_dir, topdown=False):
            for name in files:
                full = os.path.join(root, name)
                rel = os.path.relpath(full, self.program_dir)
                if rel == source:
                    continue
                if rel in exact or any(rel.endswith(s) for s in suffixes):
                    kept.append(rel)
                    with open(full, "rb") as f:
                        data.append(f.read())
                else:
                    os.unlink(full)
            for name in dirs:
                try:
                    os.rmdir(os.path.join(root, name))
                except OSError:
                    pass  # holds kept files
        return kept, data

    def op_run(self, header, blobs):
        uid = self.program_uid
        env = dict(self.env, **self._scratch(uid))
        spec = self._spec(header["argv"], env, header["limits"], header["cpu_seconds"], uid)
        try:
            facts = runner_exec.run(spec, blobs[0] if blobs else b"", header["wall_limit"],
                                    header["stdout_limit"], self._kill)
        finally:
            self._after_run()
        return facts, [facts.pop("stdout", b""), facts.pop("stderr", b"")]

    def op_reset(self, header, blobs):
        self._clean()
        return {"ok": True}, ()

    def _kill(self):
        sx.kill_leftovers(self.self_pid, self.pidns)


def exec_as(cfg, argv):
    """Drop to the configured uid in a working directory of its own, then exec ``argv``."""
    uid = cfg.get("uid") if os.geteuid() == 0 else None
    os.makedirs(cfg["workdir"], 0o700, exist_ok=True)
    if uid is not None:
        os.chown(cfg["workdir"], uid, uid)
    os.chdir(cfg["workdir"])
    runner_exec.apply_limits(cfg.get("limits") or {}, 0, uid is not None)
    if uid is not None:
        runner_exec.become(uid)
    seccomp = sx.seccomp_args(bytes.fromhex(cfg["seccomp"])) if cfg.get("seccomp") else None
    runner_exec.confine(seccomp, not (cfg.get("pidns") and os.getpid() == 2), os.getppid())
    env = dict(cfg["env"], HOME=cfg["workdir"], TMPDIR=cfg["workdir"])
    os.execve(shutil.which(argv[0], path=env.get("PATH")) or argv[0], argv, env)


def main(argv):
    if len(argv) >= 3 and argv[1] == "serve":
        Worker(json.loads(argv[2])).serve()
        return 0
    if len(argv) >= 4 and argv[1] == "exec-as":
        exec_as(json.loads(argv[2]), argv[3:])
    sys.stderr.write("usage: runner_worker.py serve CONFIG_JSON | exec-as CONFIG_JSON ARGV...\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
