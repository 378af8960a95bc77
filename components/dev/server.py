"""The local server: HTTP on loopback, the consumers, the schedules, hot reload, the admin routes.

:class:`DevServer` owns one stack's data directory (an exclusive lock, so two servers never
share state) and its database, and serves a :class:`~components.dev.app.LocalApp`:

* ``http://127.0.0.1:<port>/<function>/<path>``: an HTTP function, called with ``<path>``
  (``/orders`` for ``/api/orders``), as a Function URL passes its path;
* every queue, bus subscription, table listener and workflow through :mod:`.consumers`;
* scheduled functions at their schedule's times (:func:`components.schedule.next_fire`);
* ``/_omnicloud/...``: ``health``, ``app``, ``invoke/<function>`` (fire a schedule now),
  ``executions/<id>`` and ``queues/<name>`` (depth and dead letters), for ``omnicloud dev
  invoke``, tests and curious people.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit

from components.dev.app import LocalApp
from components.dev.consumers import (
    ChangeDelivery,
    Consumer,
    Delivery,
    DeliveryContext,
    EventDelivery,
    QueueDelivery,
    WorkflowDelivery,
    WorkflowRunner,
    failure_of,
)
from components.dev.output import DevLog
from components.dev.reload import Reloader
from components.dev.workers import InvocationError, Workers, measured
from components.runtime.clients.local import LocalStores
from components.runtime.local.database import Database
from components.runtime.local.queue_store import DEAD_LETTER_SUFFIX, QueueNotFound
from components.runtime.local.routing import Route, bus_source, table_source
from components.runtime.local.workflow_store import ExecutionNotFound, start_queue
from components.schedule import next_fire, parse_schedule

__all__ = ["ADMIN_PREFIX", "DataLocked", "DevServer", "server_info"]

ADMIN_PREFIX = "/_omnicloud/"
STREAM_RETRIES = 10
"""Retries of a failing table change before it is dead-lettered: the AWS event source
mapping's ``maximum_retry_attempts`` (``providers/aws/table.py``), so local fails alike."""
STREAM_RETENTION_S = 86400
"""DynamoDB streams keep a change for 24 hours."""
WORKFLOW_START_VISIBILITY_S = 6 * 3600
"""A start message stays in flight while its execution runs; a server that dies leaves it so,
and the next server releases it at once (it holds the lock, so nobody else runs it)."""
WORKFLOW_CONCURRENCY = 4
QUEUE_CONCURRENCY = 2
SWEEP_INTERVAL_S = 2.0


class DataLocked(RuntimeError):
    """Another ``omnicloud dev`` serves this stack's data directory."""


def server_info(data_dir: Path, stack: str) -> dict[str, Any] | None:
    """What a running server wrote about itself (``pid``, ``port``, ``url``), or None."""
    path = data_dir / f"{stack}.server.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


class DevServer:
    """Serves one local app until :meth:`stop`."""

    def __init__(self, app: LocalApp, data_dir: Path, log: DevLog, *, max_workers: int = 4) -> None:
        self.app = app
        self.data_dir = data_dir
        self.log = log
        self._stop = threading.Event()
        self._lock_file = _lock(data_dir, app.stack)
        stores = LocalStores(Database(app.database))
        self.database = stores.database
        self.queues = stores.queues
        self.routes = stores.routes
        self.tables = stores.tables
        self.executions = stores.workflows
        self.workers = Workers(app.functions, app.root, log.log, max_workers=max_workers)
        self._deps = DeliveryContext(self.queues, self.workers, log)
        self._consumers: list[Consumer] = []
        self._threads: list[threading.Thread] = []
        self._dead_letters: dict[str, int] = {}
        self.http = _HttpServer(("127.0.0.1", app.port), _Handler, self)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"

    # -- start-up ------------------------------------------------------------------------------

    def start(self) -> None:
        """Declare everything, recover interrupted work, start every loop; returns at once."""
        self._declare()
        self.workers.warm()
        for consumer in self._consumers:
            consumer.start()
        for target in (self._schedules, self._sweep):
            self._spawn(target)
        reloader = Reloader(self.app.root, self._stop, self._reloaded)
        self._threads.append(reloader)
        reloader.start()
        self.http.running = True
        self._spawn(self.http.serve_forever)
        (self.data_dir / f"{self.app.stack}.server.json").write_text(
            json.dumps({"pid": os.getpid(), "port": self.http.server_address[1], "url": self.url})
        )
        self.log.start({**self.app.to_json(), "url": self.url, "data": str(self.data_dir)})

    def _spawn(self, target: Any) -> None:
        thread = threading.Thread(target=target, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _declare(self) -> None:
        app, store = self.app, self.queues
        for queue in app.queues.values():
            s = queue.settings
            store.declare(
                queue.name,
                visibility_timeout_s=s["visibility_timeout_s"],
                max_receive_count=s["max_receive_count"],
                delay_s=s["delay_s"],
                fifo=s["fifo"],
                retention_s=s["retention_s"],
                max_message_kb=s["max_message_kb"],
            )
            for subscriber in queue.subscribers:
                delivery = QueueDelivery(self._deps, queue.name, subscriber.function)
                for _ in range(QUEUE_CONCURRENCY):
                    self._consume(queue.name, delivery, subscriber.batch_size, subscriber.max_batching_window_s)
        for bus in app.buses.values():
            routes = []
            for sub in bus.subscriptions:
                if sub.target_kind == "queue":
                    routes.append(Route(sub.target, sub.pattern))
                    continue
                name = f"_bus/{bus.name}/{sub.name}"
                store.declare(
                    name,
                    visibility_timeout_s=app.functions[sub.target].timeout_s + 5,
                    max_receive_count=sub.max_retries + 1,
                    retention_s=sub.max_event_age_s,
                )
                routes.append(Route(name, sub.pattern))
                self._consume(name, EventDelivery(self._deps, name, bus.name, sub.name, sub.target), 10)
            self.routes.replace(bus_source(bus.name), routes)
        for table in app.tables.values():
            self.tables.declare(table.name, table.schema)
            routes = []
            for listener in table.listeners:
                name = f"_table/{table.name}/{listener.function}"
                store.declare(
                    name,
                    visibility_timeout_s=app.functions[listener.function].timeout_s + 5,
                    max_receive_count=STREAM_RETRIES + 1,
                    fifo=True,
                    retention_s=STREAM_RETENTION_S,
                )
                routes.append(Route(name))
                delivery = ChangeDelivery(self._deps, name, table.name, listener.function)
                self._consume(name, delivery, listener.batch_size)
            self.routes.replace(table_source(table.name), routes)
        definitions = {name: spec.definition for name, spec in app.workflows.items()}
        runner = WorkflowRunner(self._deps, self.executions, definitions)
        for workflow in app.workflows:
            name = start_queue(workflow)
            store.declare(
                name, visibility_timeout_s=WORKFLOW_START_VISIBILITY_S, max_receive_count=5, retention_s=14 * 86400
            )
            recovered = store.release_in_flight(name)
            if recovered:
                self.log.notice(
                    f"workflow {workflow}: resuming {recovered} execution(s) a previous server left running"
                )
            for _ in range(WORKFLOW_CONCURRENCY):
                self._consume(name, WorkflowDelivery(self._deps, name, runner, workflow), 1)

    def _consume(self, queue: str, delivery: Delivery, batch_size: int, window_s: float = 0) -> None:
        self._consumers.append(
            Consumer(
                self.queues, queue, delivery, batch_size=batch_size, max_batching_window_s=window_s, stop=self._stop
            )
        )

    # -- loops -----------------------------------------------------------------------------------

    def _schedules(self) -> None:
        anchor = datetime.now(UTC)
        scheduled = {name: parse_schedule(fn.schedule) for name, fn in self.app.functions.items() if fn.schedule}
        due = {name: next_fire(schedule, anchor, anchor=anchor) for name, schedule in scheduled.items()}
        while due and not self._stop.is_set():
            name, when = min(due.items(), key=lambda item: item[1])
            wait = (when - datetime.now(UTC)).total_seconds()
            if wait > 0:
                self._stop.wait(min(wait, 1.0))
                continue
            due[name] = next_fire(scheduled[name], when, anchor=anchor)
            threading.Thread(target=self.fire, args=(name, when), daemon=True).start()

    def fire(self, function: str, when: datetime | None = None) -> dict[str, Any]:
        """Run a scheduled function now, as its schedule would (``omnicloud dev invoke``)."""
        spec = self.app.functions[function]
        moment = (when or datetime.now(UTC)).replace(microsecond=0)
        request = {"kind": "scheduled", "schedule": spec.schedule or "", "time": moment.isoformat()}
        reply, ms = measured(lambda: self.workers.invoke(function, request))
        trigger = f"schedule {spec.schedule}" if when else "invoke"
        failure = failure_of(reply)
        if failure is not None:
            self.log.invocation(function, trigger, failure[0], ms)
            self.log.error(function, trigger, failure[1], failure[2])
            return {"ok": False, "outcome": failure[0], "error": failure[1], "duration_ms": ms}
        self.log.invocation(function, trigger, "ok", ms)
        return {"ok": True, "outcome": "ok", "duration_ms": ms}

    def _sweep(self) -> None:
        """TTL expiry (as DynamoDB's, with a remove change each) and dead-letter notices."""
        while not self._stop.wait(SWEEP_INTERVAL_S):
            try:
                for table in self.app.tables.values():
                    if table.schema.get("ttl_attribute"):
                        self.tables.expire(table.name)
                for queue in self.queues.queues():
                    if queue.endswith(DEAD_LETTER_SUFFIX):
                        continue
                    count = self.queues.depth(queue + DEAD_LETTER_SUFFIX).total
                    if count > self._dead_letters.get(queue, 0):
                        self.log.notice(f"queue {queue}: {count} message(s) in its dead-letter queue", queue=queue)
                    self._dead_letters[queue] = count
            except Exception as exc:  # a sweep must never end the server; say what went wrong
                self.log.notice(f"sweep failed: {type(exc).__name__}: {exc}")

    def _reloaded(self, changed: list[Path]) -> None:
        names = ", ".join(str(p.relative_to(self.app.root)) for p in changed[:3])
        self.workers.recycle()
        self.log.notice(f"{names} changed: handlers reload on their next invocation")
        if self.app.main in changed:
            self.log.notice("the program changed: restart `omnicloud dev` to serve new or changed components")

    # -- stopping ----------------------------------------------------------------------------------

    def wait(self) -> None:
        """Block until :meth:`stop` (or Ctrl-C, which stops)."""
        try:
            while not self._stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        self.stop()

    def stop(self) -> None:
        """Stop serving; accepted work stays in the database for the next start."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self.http.running:
            self.http.running = False
            self.http.shutdown()
        self.http.server_close()
        for consumer in self._consumers:
            consumer.join(timeout=5)
        self.workers.close()
        (self.data_dir / f"{self.app.stack}.server.json").unlink(missing_ok=True)
        self._lock_file.close()
        self.log.close()


def _lock(data_dir: Path, stack: str) -> IO[str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = (data_dir / f"{stack}.lock").open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        info = server_info(data_dir, stack) or {}
        raise DataLocked(
            f"another `omnicloud dev` serves stack '{stack}' from {data_dir} "
            f"(pid {info.get('pid', '?')}, {info.get('url', '?')}); stop it or use another --data"
        ) from None
    return handle


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Many clients at once (benchmarks, browsers): a deeper accept queue than the default 5.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], dev: DevServer) -> None:
        super().__init__(address, handler)
        self.dev = dev
        self.running = False
        """Whether ``serve_forever`` runs (``shutdown()`` would wait forever otherwise)."""


class _Handler(BaseHTTPRequestHandler):
    """Routes a request to an HTTP function or an admin route."""

    protocol_version = "HTTP/1.1"  # keep-alive: every reply has a Content-Length
    # Small replies go out at once: with Nagle's algorithm on, the body (a second small write
    # after the headers) waits for the client's delayed ACK, 40 ms on Linux, on every
    # keep-alive request.
    disable_nagle_algorithm = True
    # Buffered, so headers and body leave in one write (flushed after each request).
    wbufsize = -1

    @property
    def dev(self) -> DevServer:
        server = self.server
        assert isinstance(server, _HttpServer)
        return server.dev

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: every invocation is logged by the server's own output instead."""

    def _dispatch(self) -> None:
        dev = self.dev
        target = urlsplit(self.path)
        path = unquote(target.path)
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if path.startswith(ADMIN_PREFIX):
            status, payload = _admin(dev, self.command, path.removeprefix(ADMIN_PREFIX), body)
            self._send(status, {"content-type": "application/json"}, [], json.dumps(payload, default=str).encode())
            return
        name, _, rest = path.lstrip("/").partition("/")
        spec = dev.app.functions.get(name)
        if spec is None or not spec.http:
            served = sorted(n for n, f in dev.app.functions.items() if f.http)
            message = {"error": f"no HTTP function '{name}' here", "functions": [f"/{n}/" for n in served]}
            self._send(404, {"content-type": "application/json"}, [], json.dumps(message).encode())
            return
        request = {
            "kind": "http",
            "method": self.command,
            "path": "/" + rest,
            "query_string": target.query,
            "headers": list(self.headers.items()),
            "body": body,
            "source_ip": self.client_address[0],
        }
        reply, ms = measured(lambda: dev.workers.invoke(name, request))
        trigger = f"{self.command} /{rest}"
        if isinstance(reply, InvocationError):
            dev.log.invocation(name, trigger, reply.outcome, ms)
            dev.log.error(name, trigger, reply.message, reply.traceback)
            # What a Function URL answers when the function itself failed or timed out.
            status = 504 if reply.outcome == "timeout" else 502
            self._send(status, {"content-type": "application/json"}, [], b'{"error":"internal"}')
            return
        outcome = "ok" if reply["status"] < 500 else "failed"
        dev.log.invocation(name, trigger, outcome, ms, str(reply["status"]))
        self._send(reply["status"], reply["headers"], reply["cookies"], reply["body"])

    def _send(self, status: int, headers: dict[str, str], cookies: list[str], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(key, value)
        if body and not any(k.lower() == "content-type" for k in headers):
            self.send_header("content-type", "application/octet-stream")
        for cookie in cookies:
            self.send_header("set-cookie", cookie)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


def _admin(dev: DevServer, method: str, route: str, body: bytes) -> tuple[int, Any]:
    parts = route.strip("/").split("/", 1)
    head, arg = parts[0], (parts[1] if len(parts) > 1 else "")
    if head == "health":
        return 200, {"ok": True, "stack": dev.app.stack, "pid": os.getpid(), "time": time.time()}
    if head == "app":
        return 200, dev.app.to_json()
    if head == "invoke" and method == "POST":
        spec = dev.app.functions.get(arg)
        if spec is None:
            return 404, {"error": f"no function '{arg}'", "functions": sorted(dev.app.functions)}
        if not spec.schedule:
            return 400, {"error": f"function '{arg}' has no schedule; call HTTP functions at their URL"}
        result = dev.fire(arg)
        return (200 if result["ok"] else 500), result
    if head == "executions" and arg:
        try:
            return 200, dev.executions.get(arg).to_json()
        except ExecutionNotFound as exc:
            return 404, {"error": str(exc)}
    if head == "queues" and arg:
        try:
            depth = dev.queues.depth(arg)
            dead = dev.queues.dead_letters(arg)
        except (QueueNotFound, ValueError) as exc:
            return 404, {"error": str(exc)}
        return 200, {
            "queue": arg,
            "visible": depth.visible,
            "in_flight": depth.in_flight,
            "delayed": depth.delayed,
            "dead_letters": len(dead),
        }
    return 404, {"error": f"no admin route {method} {ADMIN_PREFIX}{route}"}
