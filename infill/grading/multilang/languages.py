"""How each SAFIM language is compiled and run: ExecEval's runtimes (``config.yaml``, ``settings.py``,
``limits_by_lang.yaml``, ``ResourceLimits``) as SAFIM chose them (``exec_utils.LANG_TO_COMPILER``: cpp "GNU C++17",
java "Java 17", csharp "Mono C#", python "PyPy 3").

Limits (ExecEval's ``ResourceLimits`` defaults, then the runtime's line of ``limits_by_lang.yaml``): CPU time 2 s
times the runtime's ``timelimit_factor``; address space 2 GiB; no core file; unlimited stack and data; no file
writes (``fsize`` 0; C# 1 GiB); 0 queued signals, message-queue bytes, real-time priority and locks; open files
C++ 0 (what stdio has), Python and C# 4, Java 25; processes (counted per uid, so only enforced when programs get a
uid of their own) C++ and Python 1, C# 4, Java 23.

Where we differ from ExecEval, and why:
- C++: Debian's g++-12 is ExecEval's compiler but for the hardening Ubuntu builds in (``UBUNTU_GCC_DEFAULTS``):
  those are passed explicitly (SAFIM block_completion_001461 overflows ``char s[3]`` by its terminating zero: into
  the stack canary with them, as under ExecEval, into its loop counter without).
- Java: ExecEval's effective command is ``java -Xmx<2 GiB> -cp DIR CLASS``: a job without execute flags replaces
  the configured flags by the heap flag (``get_executor``); its address-space limit was 2 GiB + 1 GiB for the
  VM. JDK 17 reserves a 1 GiB compressed class space besides the heap and cannot start in 3 GiB, so the address
  space allows 6 GiB; the 2 GiB heap stays the memory limit (an unbounded allocation is an OutOfMemoryError).
  javac reads sources as UTF-8, the default of ExecEval's JDK 21 (JDK 17 would take the locale's).
- C#: ExecEval runs Roslyn's ``csc -o -nologo`` (C# 8 and later); Debian has only Mono's ``mcs``, given the same
  meaning (``-optimize+ -nologo``: mcs reads ``-o`` as "output file") and its newest language level
  (``-langversion:Experimental``, about C# 7.2): a program using later features (top-level statements, local
  functions in some places, ``in`` parameters) does not compile here although it would with csc.
- Python: the brief asks for CPython's ``python3`` run as ExecEval's "Python 3" runtime (time factor 3); SAFIM
  itself chose "PyPy 3" (factor 2), available as ``python_runtime="pypy3"``.
- Programs see PYTHONHASHSEED=0 and run without address-space randomisation (a seed and a layout ExecEval could
  have drawn): a verdict does not change between runs, even for a program reading uninitialised memory.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

CPU_SECONDS = 2  # ResourceLimits.cpu
GIB = 1 << 30
UNLIMITED = -1
COMPILE_TIMEOUT_S = 60.0  # ExecEval's subprocess.run(..., timeout=60) for compilers
CPP_FLAGS = ("-std=c++17", "-s", "-x", "c++", "-O2", "-w", "-DONLINE_JUDGE", "-include", "limits.h",
             "-include", "math.h", "-static", "-lm")
# What Ubuntu 22.04's g++-12 (ExecEval's image) turns on by itself and Debian's does not: stack protector, fortified
# glibc calls, stack-clash probes, CET. They decide what some undefined behaviour does (a one-byte overflow into a
# canary instead of a neighbouring variable), so they are passed explicitly, before ExecEval's own flags.
UBUNTU_GCC_DEFAULTS = ("-fstack-protector-strong", "-D_FORTIFY_SOURCE=2", "-fstack-clash-protection", "-fcf-protection")
CPP_HEADER_FLAGS = (*UBUNTU_GCC_DEFAULTS, "-std=c++17", "-x", "c++-header", "-O2", "-w", "-DONLINE_JUDGE")  # the PCH's
JAVA_COMPILE_FLAGS = ("-nowarn", "-cp", ".;*")
JAVA_RUN_FLAGS = ("-Xmx2147483648",)
JAVA_CLASS = re.compile(r"public.* class (\w+)(.|\n|\r\n)*{", re.MULTILINE)  # ExecEval's, verbatim


def _limits(**overrides: int) -> dict[str, int]:
    base = {"core": 0, "data": UNLIMITED, "fsize": 0, "sigpending": 0, "rss": UNLIMITED, "nofile": 4,
            "msgqueue": 0, "rtprio": 0, "stack": UNLIMITED, "nproc": 1, "as": 2 * GIB, "locks": 0}
    base.update(overrides)
    return base


@dataclass(frozen=True)
class Language:
    """One SAFIM language as one ExecEval runtime."""
    key: str  # SAFIM's ``lang``
    runtime: str  # ExecEval's runtime name
    tools: tuple[str, ...]  # programs that must be installed
    timelimit_factor: int
    limits: dict[str, int] = field(hash=False)
    compiler: str = ""  # the tool whose identity keys the compile cache

    @property
    def time_limit_s(self) -> int:
        return CPU_SECONDS * self.timelimit_factor

    def source_name(self, source: str) -> str | None:
        """The file the source is written to; None when ExecEval could not name it (a compilation error)."""
        if self.key == "java":
            match = JAVA_CLASS.search(source)
            return match.group(1).strip() + ".java" if match else None
        return {"cpp": "test.cpp", "csharp": "test.cs", "python": "test.py"}[self.key]

    def compile_argv(self, name: str, out_dir: str, pch_header: str | None = None) -> list[str]:
        """The compiler's command line, run in the program's directory."""
        stem = os.path.splitext(name)[0]
        if self.key == "cpp":
            flags = list(CPP_FLAGS)
            if pch_header:  # the header holds limits.h, math.h and bits/stdc++.h: see pch.py
                at = flags.index("-include")
                flags[at:at + 4] = ["-include", pch_header]
            return ["g++", *UBUNTU_GCC_DEFAULTS, *flags, name, "-o", stem + ".out"]
        if self.key == "java":
            return ["javac", *JAVA_COMPILE_FLAGS, "-d", out_dir, name]
        if self.key == "csharp":
            return ["mcs", "-optimize+", "-nologo", "-langversion:Experimental", name]
        return [self.tools[0], "-W", "ignore", "-m", "py_compile", name]

    def keeps(self, name: str, path: str) -> bool:
        """Whether a file the compiler wrote is part of the program (kept, cached, installed to run)."""
        stem = os.path.splitext(name)[0]
        if self.key == "cpp":
            return path == stem + ".out"
        if self.key == "java":
            return path.endswith(".class")
        if self.key == "csharp":
            return path == stem + ".exe"
        return False

    def run_argv(self, name: str, program_dir: str) -> list[str]:
        stem = os.path.splitext(name)[0]
        if self.key == "cpp":
            return [os.path.join(program_dir, stem + ".out")]
        if self.key == "java":
            return ["java", *JAVA_RUN_FLAGS, "-cp", program_dir, stem]
        if self.key == "csharp":
            return ["mono", os.path.join(program_dir, stem + ".exe")]
        return [self.tools[0], "-W", "ignore", "-OO", "-s", "-S", os.path.join(program_dir, name)]

    def describe(self) -> str:
        limits = ", ".join(f"{k} {v}" for k, v in self.limits.items())
        return f"{self.key}={self.runtime} ({self.time_limit_s} s CPU; {limits})"


def python_language(runtime: str = "python3") -> Language:
    if runtime == "pypy3":
        return Language("python", "PyPy 3", ("pypy3",), 2, _limits(nofile=4), "pypy3")
    if runtime == "python3":
        return Language("python", "Python 3", ("python3",), 3, _limits(nofile=4), "python3")
    raise ValueError(f"unknown Python runtime {runtime!r} (python3 or pypy3)")


def languages(python_runtime: str = "python3") -> dict[str, Language]:
    return {
        "cpp": Language("cpp", "GNU C++17", ("g++",), 1, _limits(nofile=0), "g++"),
        "java": Language("java", "Java 17", ("javac", "java"), 3,
                         _limits(nofile=25, nproc=23, **{"as": 6 * GIB}), "javac"),
        "csharp": Language("csharp", "Mono C#", ("mcs", "mono"), 3,
                           _limits(nofile=4, nproc=4, fsize=GIB), "mcs"),
        "python": python_language(python_runtime),
    }


LANGUAGE_RULE_VERSION = "execeval-runtimes-3 (Ubuntu g++ hardening, no ASLR, PYTHONHASHSEED=0): " + "; ".join(lang.describe() for lang in languages().values())
