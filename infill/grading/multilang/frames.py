"""Messages between the pool and its sandbox workers: stdlib only (bound inside the sandbox too).

A frame is one line of JSON (the header, with ``"blobs": [n1, n2, ...]``) followed by that many raw byte strings of
those lengths: sources, compiled files, a test's input and a program's output travel unencoded.
"""
import json
import os
import select
import time

MAX_HEADER = 1 << 20


class FrameError(Exception):
    """The other side closed the pipe, stopped answering in time, or sent something malformed."""


def encode(header, blobs=()):
    blobs = [bytes(b) for b in blobs]
    head = dict(header, blobs=[len(b) for b in blobs])
    return json.dumps(head, separators=(",", ":")).encode() + b"\n" + b"".join(blobs)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class FrameReader:
    """Reads frames from a file descriptor, optionally with a deadline (time.monotonic()). A subclass reading
    another protocol from a pipe may raise its own error, with its own words, instead of FrameError."""

    error, no_answer, closed = FrameError, "no answer in time", "pipe closed"

    def __init__(self, fd):
        self.fd = fd
        self.buf = bytearray()

    def _fill(self, deadline):
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.fd], [], [], remaining)[0]:
                raise self.error(self.no_answer)
        chunk = os.read(self.fd, 1 << 20)
        if not chunk:
            raise self.error(self.closed)
        self.buf += chunk

    def take(self, n, deadline=None):
        """The next ``n`` bytes."""
        while len(self.buf) < n:
            self._fill(deadline)
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read(self, deadline=None):
        """(header, blobs); FrameError on EOF, timeout or garbage."""
        while True:
            end = self.buf.find(b"\n")
            if end >= 0:
                break
            if len(self.buf) > MAX_HEADER:
                raise FrameError("header too long")
            self._fill(deadline)
        try:
            header = json.loads(bytes(self.buf[:end]))
            sizes = [int(n) for n in header.pop("blobs", [])]
        except (ValueError, TypeError, AttributeError) as exc:
            raise FrameError(f"malformed header: {exc}") from None
        del self.buf[:end + 1]
        total = sum(sizes)
        while len(self.buf) < total:
            self._fill(deadline)
        blobs, at = [], 0
        for n in sizes:
            blobs.append(bytes(self.buf[at:at + n]))
            at += n
        del self.buf[:total]
        return header, blobs
