"""The thread-safe front of a pool of sandbox workers: a job goes into a queue with its Future, and dispatcher
threads (started with the first job, each keeping its own warm worker) take the jobs one at a time. Shared by
``execution.SandboxPool`` (Python programs) and ``multilang.pool.ExecPool`` (SAFIM's languages)."""
from __future__ import annotations

import concurrent.futures
import queue
import threading


class DispatchPool:
    """A subclass gives ``_dispatch(index)``: one dispatcher thread's loop over ``_jobs()``."""

    def __init__(self, threads: int, thread_name: str):
        self._thread_count, self._thread_name = threads, thread_name
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._closed = False

    def _dispatch(self, index: int) -> None:
        raise NotImplementedError

    def submit(self, job) -> concurrent.futures.Future:
        """The Future of ``job``, queued for the dispatcher threads (started now if they are not yet)."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{type(self).__name__} is closed")
            if not self._threads:
                for i in range(self._thread_count):
                    thread = threading.Thread(target=self._dispatch, args=(i,), name=f"{self._thread_name}-{i}",
                                              daemon=True)
                    thread.start()
                    self._threads.append(thread)
            self._queue.put((job, future))
        return future

    def _jobs(self):
        """One dispatcher thread's (job, Future) pairs, until the pool closes; a cancelled job is skipped."""
        while True:
            item = self._queue.get()
            if item is None:
                return
            job, future = item
            if future.set_running_or_notify_cancel():
                yield job, future

    def run_many(self, jobs: list) -> list:
        futures = [self.submit(job) for job in jobs]
        return [f.result() for f in futures]

    def close(self) -> None:
        """Let the dispatcher threads finish the jobs queued and stop (each then kills its worker); once."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            threads = list(self._threads)
            for _ in threads:
                self._queue.put(None)
        for thread in threads:
            thread.join()
        self._closed_now()

    def _closed_now(self) -> None:
        """What a subclass removes once its threads are gone."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
