"""Handler processes: every Function runs in processes of its own, like a cloud's instances.

A :class:`FunctionPool` keeps up to ``max_workers`` processes of one function (each runs one
invocation at a time, as a Lambda instance does), starts them on demand and reuses them warm.
Each process is ``python -m components.runtime.adapters.local`` in the project directory with
the function's environment (links, ``OMNICLOUD_*``, secrets), so ``os.environ`` and module state
are per function, never shared. :meth:`FunctionPool.recycle` retires every process after a
file changed: idle ones stop at once, busy ones when their invocation returns, and the next
invocation starts a fresh one that imports the new code.

A handler that runs past the function's ``timeout_s`` is killed (its process with it) and the
invocation reported as ``timeout``; a process that dies mid-invocation as ``crashed``.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from multiprocessing import Pipe
from pathlib import Path
from typing import IO, Any

from components.dev.app import FunctionSpec
from components.runtime.adapters.local import FD_ENV

__all__ = ["FunctionPool", "InvocationError", "Workers"]

START_TIMEOUT_S = 60.0
"""How long a new process may take to import its handler."""


class InvocationError(Exception):
    """An invocation that did not produce an answer: the handler could not load, timed out or
    its process died."""

    def __init__(self, outcome: str, message: str, traceback: str = "") -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message
        self.traceback = traceback


LineSink = Callable[[str, str], None]
"""``sink(function, line)``: where handler output goes."""


class Worker:
    """One handler process and its connection."""

    def __init__(self, spec: FunctionSpec, root: Path, generation: int, sink: LineSink) -> None:
        self.spec = spec
        self.generation = generation
        ours, theirs = Pipe(duplex=True)
        environment = {k: v for k, v in os.environ.items() if not k.startswith("OMNICLOUD_")}
        environment.update(spec.environment)
        environment[FD_ENV] = str(theirs.fileno())
        environment["PYTHONUNBUFFERED"] = "1"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "components.runtime.adapters.local"],
            cwd=root,
            env=environment,
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        theirs.close()
        self.conn = ours
        for stream in (self.process.stdout, self.process.stderr):
            assert stream is not None
            threading.Thread(target=_pump, args=(stream, spec.name, sink), daemon=True).start()
        if not self.conn.poll(START_TIMEOUT_S):
            self.kill()
            raise InvocationError("crashed", f"function '{spec.name}' did not start within {START_TIMEOUT_S:.0f} s")
        try:
            hello = self.conn.recv()
        except (EOFError, OSError):
            code = self.process.wait()
            raise InvocationError("crashed", f"function '{spec.name}' exited with code {code} while starting") from None
        if not hello.get("ready"):
            self.kill()
            raise InvocationError("failed", f"{hello['error']}: {hello['message']}", hello.get("traceback", ""))

    def call(self, request: Mapping[str, Any], timeout_s: float) -> dict[str, Any]:
        """Send one request and wait for its reply, at most ``timeout_s``."""
        try:
            self.conn.send(request)
            # select() on the descriptor, not Connection.poll(): that builds a selector per call,
            # a measurable share of a sub-millisecond HTTP round trip.
            if not select.select([self.conn.fileno()], [], [], timeout_s)[0]:
                self.kill()
                raise InvocationError("timeout", f"function '{self.spec.name}' timed out after {timeout_s:g} s")
            return self.conn.recv()
        except (EOFError, OSError):
            code = self.process.wait()
            raise InvocationError("crashed", f"function '{self.spec.name}' died (exit code {code})") from None

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        self.conn.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def _pump(stream: IO[str], function: str, sink: LineSink) -> None:
    for line in stream:
        sink(function, line.rstrip("\n"))


class FunctionPool:
    """Up to ``max_workers`` warm processes of one function."""

    def __init__(self, spec: FunctionSpec, root: Path, sink: LineSink, *, max_workers: int = 4) -> None:
        self.spec = spec
        self._root = root
        self._sink = sink
        self._max = max_workers
        self._idle: list[Worker] = []
        self._count = 0
        self._generation = 0
        self._closed = False
        self._cond = threading.Condition()

    def invoke(self, request: Mapping[str, Any], *, timeout_s: float | None = None) -> dict[str, Any]:
        """Run one invocation on a free process (waiting for one if all are busy).

        Raises:
            InvocationError: the handler could not load, timed out, or its process died.
        """
        worker = self._acquire()
        try:
            reply = worker.call(request, timeout_s if timeout_s is not None else self.spec.timeout_s)
        except InvocationError:
            self._discard(worker)
            raise
        self._release(worker)
        return reply

    def warm(self) -> None:
        """Start one process now (in the background), so the first request is not a cold start."""

        def start() -> None:
            # A failure is reported by the first real invocation, with its traceback.
            with contextlib.suppress(InvocationError):
                self._release(self._acquire())

        threading.Thread(target=start, daemon=True).start()

    def recycle(self) -> None:
        """Retire every process: code changed. Busy ones stop when their invocation returns."""
        with self._cond:
            self._generation += 1
            stale, self._idle = self._idle, []
            self._count -= len(stale)
            self._cond.notify_all()
        for worker in stale:
            worker.kill()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            stale, self._idle = self._idle, []
            self._cond.notify_all()
        for worker in stale:
            worker.kill()

    def _acquire(self) -> Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise InvocationError("crashed", "the server is stopping")
                if self._idle:
                    worker = self._idle.pop()
                    if worker.alive():
                        return worker
                    self._count -= 1
                    continue
                if self._count < self._max:
                    self._count += 1
                    generation = self._generation
                    break
                self._cond.wait()
        try:
            return Worker(self.spec, self._root, generation, self._sink)
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def _release(self, worker: Worker) -> None:
        with self._cond:
            if worker.generation == self._generation and not self._closed and worker.alive():
                self._idle.append(worker)
                self._cond.notify()
                return
            self._count -= 1
            self._cond.notify()
        worker.kill()

    def _discard(self, worker: Worker) -> None:
        worker.kill()
        with self._cond:
            self._count -= 1
            self._cond.notify()


class Workers:
    """One :class:`FunctionPool` per function of the app."""

    def __init__(
        self, functions: Mapping[str, FunctionSpec], root: Path, sink: LineSink, *, max_workers: int = 4
    ) -> None:
        self.pools = {name: FunctionPool(spec, root, sink, max_workers=max_workers) for name, spec in functions.items()}

    def invoke(self, function: str, request: Mapping[str, Any], *, timeout_s: float | None = None) -> dict[str, Any]:
        """Invoke ``function`` (see :meth:`FunctionPool.invoke`)."""
        return self.pools[function].invoke(request, timeout_s=timeout_s)

    def warm(self) -> None:
        for pool in self.pools.values():
            pool.warm()

    def recycle(self) -> None:
        for pool in self.pools.values():
            pool.recycle()

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()


def measured(call: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any] | InvocationError, float]:
    """``call()``'s reply (or its :class:`InvocationError`) and how long it took, in ms."""
    started = time.perf_counter()
    try:
        result: dict[str, Any] | InvocationError = call()
    except InvocationError as exc:
        result = exc
    return result, (time.perf_counter() - started) * 1000
