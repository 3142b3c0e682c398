"""The multi-language engine end to end (infill/grading/multilang): per language, a program right on the first test
only, an endless loop, an unbounded allocation, one that starts processes, one that tries the network (a listener
this test starts on 127.0.0.1), one that does not compile; after each, the process table holds nothing of it.
Also the compile cache (hit, key change, torn file), the precompiled header, and a missing toolchain.
"""
from __future__ import annotations

import os
import socket
import time
import uuid

import pytest

from infill.grading.multilang import (
    COMPILATION_ERROR,
    MEMORY_LIMIT_EXCEEDED,
    PASSED,
    TIME_LIMIT_EXCEEDED,
    VERDICTS,
    WRONG_ANSWER,
    ExecPool,
    Job,
    PoolConfig,
    ToolchainUnavailable,
    pch,
    toolchains,
)
from infill.grading.multilang.cache import CompileCache, CompiledProgram, compile_key
from infill.grading.multilang.languages import languages

POOLS: list[ExecPool] = []
TESTS = ({"input": "1 2\n", "output": ["3"]}, {"input": "5 7\n", "output": ["12"]})
LANGS = ("cpp", "java", "csharp", "python")

ADD = {
    "cpp": "#include <bits/stdc++.h>\nusing namespace std;\nint main(){long long a,b;cin>>a>>b;cout<<a+b<<endl;}\n",
    "java": ("import java.util.*;\npublic class Main {\n public static void main(String[] x) {\n"
             "  Scanner s = new Scanner(System.in); System.out.println(s.nextLong() + s.nextLong()); } }\n"),
    "csharp": ("using System;\npublic class P { public static void Main() {\n var a = Console.ReadLine().Split(' ');\n"
               " Console.WriteLine(long.Parse(a[0]) + long.Parse(a[1])); } }\n"),
    "python": "a, b = map(int, input().split())\nprint(a + b)\n",
}
FIRST_ONLY = {
    "cpp": "#include <cstdio>\nint main(){ puts(\"3\"); }\n",
    "java": "public class Main {\n public static void main(String[] x) { System.out.println(3); } }\n",
    "csharp": "public class P { public static void Main() { System.Console.WriteLine(3); } }\n",
    "python": "print(3)\n",
}
ENDLESS = {
    "cpp": "int main(){ volatile unsigned long x = 0; for (;;) x++; }\n",
    "java": "public class Main {\n public static void main(String[] x) { long i = 0; while (true) i++; } }\n",
    "csharp": "public class P { public static void Main() { long i = 0; while (true) i++; } }\n",
    "python": "i = 0\nwhile True:\n    i += 1\n",
}
# Large chunks that are never written reach the limit in a few allocations and take no time: with small ones that
# are written (a JVM's zeroed arrays, a bytearray), a VM whose first touch of a page is slow (7 s per GiB on
# these runners) ends the program at the time limit first; near its limit a JVM or Mono spends seconds collecting,
# or Mono's collector fails inside itself and aborts (SIGABRT: a RUNTIME_ERROR by ExecEval's rule). None of that
# says anything about the engine. Java's 2 GiB array is over its 2 GiB heap at once; bytes(n) is calloc'd.
GREEDY = {
    "cpp": "#include <vector>\nint main(){ std::vector<char*> v; for (;;) v.push_back(new char[1 << 28]); }\n",
    "java": ("import java.util.*;\npublic class Main {\n public static void main(String[] x) {\n"
             "  List<long[]> l = new ArrayList<>(); while (true) l.add(new long[1 << 28]); } }\n"),
    "csharp": ("using System.Collections.Generic;\npublic class P { public static void Main() {\n"
               " var l = new List<long[]>(); while (true) l.Add(new long[1 << 26]); } }\n"),
    "python": "x = []\nwhile True:\n    x.append(bytes(1 << 28))\n",
}
SPAWNS = {  # start processes that would outlive the program, then answer
    "cpp": ("#include <unistd.h>\n#include <cstdio>\nint main(){ for (int i = 0; i < 8; i++) if (fork() == 0) {"
            " execlp(\"sh\", \"sh\", \"-c\", \"sleep 1000 # MARK\", (char*)0); _exit(0); }\n"
            " long long a, b; scanf(\"%lld %lld\", &a, &b); printf(\"%lld\\n\", a + b); }\n"),
    "java": ("import java.util.*;\npublic class Main {\n public static void main(String[] x) {\n"
             "  for (int i = 0; i < 8; i++) try { new ProcessBuilder(\"sh\", \"-c\", \"sleep 1000 # MARK\").start(); }"
             " catch (Throwable e) {}\n"
             "  Scanner s = new Scanner(System.in); System.out.println(s.nextLong() + s.nextLong()); } }\n"),
    "csharp": ("using System;\npublic class P { public static void Main() {\n for (int i = 0; i < 8; i++) try {"
               " System.Diagnostics.Process.Start(\"sh\", \"-c 'sleep 1000 # MARK'\"); } catch (Exception) {}\n"
               " var a = Console.ReadLine().Split(' '); Console.WriteLine(long.Parse(a[0]) + long.Parse(a[1])); } }\n"),
    "python": ("import subprocess\nfor i in range(8):\n    try:\n"
               "        subprocess.Popen(['sh', '-c', 'sleep 1000 # MARK'])\n    except OSError:\n        pass\n"
               "a, b = map(int, input().split())\nprint(a + b)\n"),
}
NETWORK = {  # prints LEAKED if it reached the listener, else blocked
    "cpp": ("#include <sys/socket.h>\n#include <netinet/in.h>\n#include <arpa/inet.h>\n#include <cstdio>\n"
            "int main(){ int s = socket(AF_INET, SOCK_STREAM, 0); if (s < 0) { puts(\"blocked\"); return 0; }\n"
            " sockaddr_in a{}; a.sin_family = AF_INET; a.sin_port = htons(PORT); a.sin_addr.s_addr = inet_addr(\"127.0.0.1\");\n"
            " puts(connect(s, (sockaddr*)&a, sizeof a) == 0 ? \"LEAKED\" : \"blocked\"); }\n"),
    "java": ("public class Main {\n public static void main(String[] x) {\n"
             "  try (java.net.Socket s = new java.net.Socket(\"127.0.0.1\", PORT)) { System.out.println(\"LEAKED\"); }"
             " catch (Exception e) { System.out.println(\"blocked\"); } } }\n"),
    "csharp": ("public class P { public static void Main() {\n try { var c = new System.Net.Sockets.TcpClient(\"127.0.0.1\", PORT);"
               " System.Console.WriteLine(c.Connected ? \"LEAKED\" : \"blocked\"); }"
               " catch (System.Exception) { System.Console.WriteLine(\"blocked\"); } } }\n"),
    "python": ("import socket\ntry:\n    socket.create_connection(('127.0.0.1', PORT), timeout=2)\n    print('LEAKED')\n"
               "except OSError:\n    print('blocked')\n"),
}
BROKEN = {"cpp": "int main( { }\n", "java": "public class Main { void f() { int x = } }\n",
          "csharp": "public class P { public static void Main() { int x = } }\n", "python": "def f(:\n    pass\n"}


# ---- the process table ------------------------------------------------------------------------------
POOL_UIDS: set[int] = set()  # of every pool made here (other pools may be running on the machine)


def leftovers(mark: str | None = None) -> list[str]:
    """Processes of this file's pools' programs or compilers (not a javac server), or naming ``mark``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                uid = int(next(line for line in f if line.startswith("Uid:")).split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except (OSError, StopIteration, ValueError):
            continue
        if (uid in POOL_UIDS and "JavacServer" not in cmdline) or (mark and mark in cmdline):
            found.append(f"{entry} uid={uid} {cmdline[:120]}")
    return found


def assert_nothing_left(mark: str | None = None) -> None:
    for pool in POOLS:
        POOL_UIDS.update(pool.sandbox_uids())
    deadline = time.monotonic() + 5
    while leftovers(mark) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not leftovers(mark), leftovers(mark)


# ---- pools -----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pools(tmp_path_factory):
    made: dict[str, ExecPool] = {}

    def get(isolation: str) -> ExecPool:
        if isolation not in made:
            cache = tmp_path_factory.mktemp(f"multilang-{isolation}")
            made[isolation] = ExecPool(PoolConfig(workers=2, isolation=isolation, cache_dir=str(cache)))
            POOLS.append(made[isolation])
            missing = [k for k, t in made[isolation].toolchains().items() if not t.available]
            if missing:
                pytest.skip(f"toolchains missing: {missing}")
        return made[isolation]

    yield get
    assert_nothing_left()
    for pool in made.values():
        pool.close()
    assert_nothing_left()


@pytest.fixture(params=["bwrap", "rlimits"])
def pool(request, pools) -> ExecPool:
    if request.param == "bwrap" and not os.path.exists("/usr/bin/bwrap") and not __import__("shutil").which("bwrap"):
        pytest.skip("needs bubblewrap")
    return pools(request.param)


def grade(pool: ExecPool, language: str, source: str, tests=TESTS):
    return pool.submit(Job(language, source, tests)).result(timeout=600)


# ---- per language --------------------------------------------------------------------------------------
@pytest.mark.parametrize("language", LANGS)
def test_right_answer_passes_and_first_only_fails_at_test_2(pool, language):
    assert grade(pool, language, ADD[language]).verdict == PASSED
    outcome = grade(pool, language, FIRST_ONLY[language])
    assert (outcome.verdict, outcome.tests_run) == (WRONG_ANSWER, 2), outcome
    assert outcome.detail.startswith("test 2:")
    assert_nothing_left()


@pytest.mark.slow
@pytest.mark.parametrize("language", LANGS)
def test_endless_loop_is_time_limit_exceeded(pools, language):
    outcome = grade(pools("bwrap"), language, ENDLESS[language])
    assert (outcome.verdict, outcome.tests_run) == (TIME_LIMIT_EXCEEDED, 1), outcome
    assert outcome.seconds < 3 * languages()[language].time_limit_s + 60
    assert_nothing_left()


@pytest.mark.slow
@pytest.mark.parametrize("language", LANGS)
def test_unbounded_allocation_is_memory_limit_exceeded(pools, language):
    outcome = grade(pools("bwrap"), language, GREEDY[language])
    assert outcome.verdict == MEMORY_LIMIT_EXCEEDED, outcome
    assert grade(pools("bwrap"), language, ADD[language]).verdict == PASSED  # the grader is fine
    assert_nothing_left()


@pytest.mark.parametrize("language", LANGS)
def test_started_processes_are_contained(pool, language):
    mark = f"MARK{uuid.uuid4().hex}"
    outcome = grade(pool, language, SPAWNS[language].replace("MARK", mark))
    if language == "java":  # under ExecEval's 23 processes the JVM warns on stdout that a thread failed to start
        assert outcome.verdict in VERDICTS, outcome
    else:
        assert outcome.verdict == PASSED, outcome  # it answered; whatever it started is gone
    assert_nothing_left(mark)
    assert grade(pool, language, ADD[language]).verdict == PASSED


@pytest.mark.parametrize("language", LANGS)
def test_no_network_to_a_local_listener(pool, language):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        outcome = grade(pool, language, NETWORK[language].replace("PORT", str(port)), ({"input": "", "output": ["blocked"]},))
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert outcome.verdict == PASSED, outcome  # it printed "blocked"
    assert_nothing_left()


@pytest.mark.parametrize("language", LANGS)
def test_compilation_error(pools, language):
    outcome = grade(pools("bwrap"), language, BROKEN[language])
    assert (outcome.verdict, outcome.tests_run) == (COMPILATION_ERROR, 0), outcome
    assert outcome.detail and "\n" not in outcome.detail
    assert_nothing_left()


def test_uninitialised_memory_gives_the_same_verdict_every_run(pools):
    """No address-space randomisation: what a program sees of addresses is the same each run."""
    source = "#include <cstdio>\n#include <cstdint>\nint main(){ int x; printf(\"%ju\\n\", (uintmax_t)&x); }\n"
    tests = ({"input": "", "output": ["-1"]},)
    first = grade(pools("bwrap"), "cpp", source, tests)
    again = grade(pools("bwrap"), "cpp", source.replace("int main", "// again\nint main"), tests)
    assert first.verdict == again.verdict == WRONG_ANSWER and first.detail == again.detail, (first, again)


def test_cpp_is_hardened_like_execevals_ubuntu_compiler(pools):
    """SAFIM block_completion_001461: scanf("%s") into char s[3] writes a fourth byte. Ubuntu's g++ (ExecEval's)
    puts a stack canary there; Debian's plain g++ lets it zero the loop counter (one answer instead of three)."""
    source = ("#include <stdio.h>\nint main(){ int n; char s[3];\n for (scanf(\"%d\", &n); n > 0; n--) {"
              " scanf(\"%s\", s); puts(s[0] == 'y' ? \"YES\" : \"NO\"); } }\n")
    outcome = grade(pools("bwrap"), "cpp", source, ({"input": "3\nyes\nyes\nnoo\n", "output": ["YES\nYES\nNO"]},))
    assert outcome.verdict == PASSED, outcome


def test_java_without_public_class_is_a_compilation_error(pools):
    source = "class Main { public static void main(String[] x) { System.out.println(3); } }\n"
    assert grade(pools("bwrap"), "java", source).verdict == COMPILATION_ERROR  # ExecEval cannot name the file


# ---- compile cache ------------------------------------------------------------------------------------------
def cache_key(pool: ExecPool, language: str, source: str) -> str:
    lang = languages()[language]
    name = lang.source_name(source)
    return compile_key(language, pool.toolchain(language).identity, lang.compile_argv(name, "{dir}"), name, source)


def test_compile_cache_hit_and_key_change(pools):
    pool = pools("bwrap")
    source = ADD["cpp"].replace("int main", "// cache test\nint main")
    first, second = grade(pool, "cpp", source), grade(pool, "cpp", source)
    assert (first.verdict, second.verdict) == (PASSED, PASSED)
    assert not first.compile_cached and second.compile_cached
    changed = grade(pool, "cpp", source.replace("cache test", "cache test 2"))
    assert not changed.compile_cached and changed.verdict == PASSED
    key = cache_key(pool, "cpp", source)
    assert key != cache_key(pool, "cpp", source + " ")
    argv = languages()["cpp"].compile_argv("test.cpp", "{dir}")
    assert key != compile_key("cpp", "another g++", argv, "test.cpp", source)
    assert key != compile_key("cpp", pool.toolchain("cpp").identity, argv + ["-O3"], "test.cpp", source)


def test_torn_cache_entry_is_a_miss_and_is_rewritten(pools):
    pool = pools("bwrap")
    source = ADD["cpp"].replace("int main", "// torn test\nint main")
    assert grade(pool, "cpp", source).verdict == PASSED
    path = pool.cache._path(cache_key(pool, "cpp", source))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # a writer killed half-way (were renames not atomic)
    damaged = pool.cache.damaged
    outcome = grade(pool, "cpp", source)
    assert (outcome.verdict, outcome.compile_cached) == (PASSED, False)
    assert pool.cache.damaged == damaged + 1
    assert pool.cache.get(cache_key(pool, "cpp", source)) is not None  # rewritten whole


def test_cache_survives_concurrent_writers_and_garbage(tmp_path):
    import threading

    cache = CompileCache(tmp_path)
    programs = [CompiledProgram(True, "", {"a.out": os.urandom(1 << 16) * 4}) for _ in range(4)]
    seen: list = []

    def write(program):
        for _ in range(20):
            cache.put("k" * 64, program)

    def read():
        for _ in range(200):
            seen.append(cache.get("k" * 64))

    threads = [threading.Thread(target=write, args=(p,)) for p in programs] + [threading.Thread(target=read)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(s is None or s in programs for s in seen) and cache.damaged == 0
    cache._path("g" * 64).parent.mkdir(parents=True, exist_ok=True)
    cache._path("g" * 64).write_bytes(b"garbage")
    assert cache.get("g" * 64) is None and cache.damaged == 1


# ---- precompiled header ------------------------------------------------------------------------------------
def test_precompiled_header_is_used_inside_the_sandbox_and_changes_nothing(pools, tmp_path):
    pool = pools("bwrap")
    assert grade(pool, "cpp", ADD["cpp"]).verdict == PASSED
    directory = pool.pch_dir()
    assert directory is not None, pool._pch
    from infill.grading.multilang.slot import Slot

    slot = Slot(pool, 99)
    try:
        worker = slot._worker()
        worker.request({"op": "install", "files": ["test.cpp"]}, [ADD["cpp"].encode()])
        argv = slot._compile_argv(languages()["cpp"], "test.cpp", ADD["cpp"]) + ["-H", "-fsyntax-only"]
        reply, blobs = worker.request({"op": "compile", "argv": argv, "source": "test.cpp", "limits": {},
                                       "cpu_seconds": 120, "timeout": 120, "keep_exact": [], "keep_suffix": []}, (), 300)
        assert reply["exit"] == 0 and f"! /run/infill/pch/{directory.name}/prelude.h.gch" in blobs[1].decode()
    finally:
        slot.close()
    with ExecPool(PoolConfig(workers=1, cache_dir=str(tmp_path), precompiled_header=False)) as plain:
        assert grade(plain, "cpp", ADD["cpp"]).verdict == PASSED
        key = cache_key(plain, "cpp", ADD["cpp"])
        assert plain.cache.get(key).files == pool.cache.get(key).files  # the very same executable


def test_javac_server_writes_what_the_javac_command_writes(pools, tmp_path):
    pool = pools("bwrap")
    source = ADD["java"].replace("public class Main {", "public class Main {\n static class Inner { int x; }")
    assert grade(pool, "java", source).verdict == PASSED
    with ExecPool(PoolConfig(workers=1, cache_dir=str(tmp_path), javac_server=False)) as plain:
        assert grade(plain, "java", source).verdict == PASSED
        key = cache_key(plain, "java", source)
        served, command = pool.cache.get(key).files, plain.cache.get(key).files
    assert sorted(served) == ["Main$Inner.class", "Main.class"] and served == command


# ---- toolchains -----------------------------------------------------------------------------------------------
def test_missing_toolchain_is_reported_not_graded(tmp_path, monkeypatch):
    monkeypatch.setattr(toolchains, "PATH", str(tmp_path))  # nothing installed there
    with ExecPool(PoolConfig(workers=1, isolation="rlimits", cache_dir=str(tmp_path / "c"))) as pool:
        report = pool.toolchains()
        assert all(not t.available and "not found" in t.reason for t in report.values()), report
        for language in LANGS:
            with pytest.raises(ToolchainUnavailable) as raised:
                pool.submit(Job(language, ADD[language], TESTS))
            assert raised.value.language == language
    assert pch.eligible(ADD["cpp"])  # (the header would have applied)
