"""``omnicloud dev`` against the usual stand-ins: moto's SQS for queues, a bare ``http.server``
for HTTP functions.

Two measurements, in the same run, each side in a server process of its own:

1. **Queue → function throughput.** N messages, sent one at a time by a single producer
   thread of this process while the consumers run, timed from the first send until the
   queue is drained (every message handled and deleted), as messages per second.

   * ``local``: ``omnicloud dev`` serving ``benchmarks/local_app``: Queue ``bench`` (default
     ``QueueArgs``) with Function ``consumer`` subscribed at ``batch_size=10``. The producer is
     the public runtime client, ``components.runtime.queue("bench").send(body)``, with the link
     variable a local function would get. The server's own consumer threads
     (``components.dev.server.QUEUE_CONCURRENCY`` of them) receive batches of up to 10, hand
     each to a warm handler process of ``consumer`` and ack every message it did not fail.
     Drained: the queue's depth (visible + in flight + delayed, read from the SQLite file) is 0
     after the last send; the server's log must then show exactly N messages handled OK and
     the dead-letter queue must be empty.
   * ``moto``: ``moto_server`` (a separate process, as the dev server is), a standard queue
     with the same settings (30 s visibility, 4 days retention, a DLQ after 5 receives). The
     producer calls boto3 ``send_message`` once per message; as many consumer threads as the
     local server runs (each with its own boto3 client) loop ``receive_message
     (MaxNumberOfMessages=10)`` → the same handler function (``handlers.work.consume``, on a
     ``QueueBatch`` built from the SQS messages, called in-thread: no process hop, which
     favours moto) → ``delete_message_batch``. An empty receive backs off exactly as the local
     consumers do (2 ms doubling up to 100 ms). Drained: N messages deleted.

   On both sides the consumers are already polling (idle) when the clock starts, so producer
   and consumers overlap. Target: local ≥ 5x moto.

2. **HTTP function latency.** M sequential GETs (after a warm-up) over one keep-alive
   ``http.client.HTTPConnection``, p50 and p99, against

   * ``local``: the ``web`` function of the same ``omnicloud dev`` (its handler returns a
     21-byte string, answered as ``text/plain``);
   * ``bare``: a bare ``ThreadingHTTPServer`` + ``BaseHTTPRequestHandler`` with
     ``protocol_version = "HTTP/1.1"`` in a subprocess, answering the same status, content
     type and body with a Content-Length, everything else the standard library's defaults;
   * ``bare tuned``: the same with the two socket settings ``omnicloud dev``'s own handler
     uses: ``disable_nagle_algorithm = True`` (``TCP_NODELAY``) and ``wbufsize = -1`` (headers
     and body leave in one write).

   ``bare`` shows why both matter: ``http.server`` writes a response's headers and body with
   two ``send`` calls, and on a kept-alive connection Nagle's algorithm holds the body until
   the client ACKs the headers, which Linux delays by ~40 ms: every request takes ~44 ms.
   ``bare tuned`` is the same standard-library server with the same settings as the local
   one, so the difference is omnicloud's own work (routing, the call into the handler
   process, logging): **the latency target (local p50 within 2x) is checked against
   ``bare tuned``**; ratios to ``bare`` are printed too (``bare`` gets at most 300 timed
   keep-alive requests after 20, as each takes ~44 ms). All three are also measured with a
   new connection per request (``--no-new-connection`` skips that), where there is no stall
   (a fresh connection ACKs at once).

Every measurement runs ``--repeat`` times (3), the sides rotating which goes first. Tables
show the **best** run (highest msg/s, lowest ms: load from other processes only ever adds
time) with the **median** in parentheses; the targets use the best runs, the JSON has every
run.

Usage (from the repository root)::

    .venv/bin/python benchmarks/local_dev.py                  # N=2000 messages, M=2000 requests (+200 warm-up), 3 runs
    .venv/bin/python benchmarks/local_dev.py --quick          # N=500, M=500 (+50 warm-up)
    .venv/bin/python benchmarks/local_dev.py --json out.json  # also write every number
    .venv/bin/python benchmarks/local_dev.py --messages 5000 --requests 10000 --repeat 5
    .venv/bin/python benchmarks/local_dev.py --check          # exit 1 if a target is missed
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_DIR = Path(__file__).resolve().parent / "local_app"
for entry in (REPO_ROOT, APP_DIR):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

STACK = "dev-local"
QUEUE = "bench"
START_TIMEOUT_S = 120.0
DRAIN_TIMEOUT_S = 300.0
DRAIN_POLL_S = 0.002
TARGET_QUEUE_RATIO = 5.0
"""local msg/s ÷ moto msg/s must be at least this."""
TARGET_LATENCY_RATIO = 2.0
"""local p50 ÷ bare tuned p50 (keep-alive) must be at most this."""
STALLED_REQUESTS = 300
"""At most this many timed keep-alive requests to ``bare`` (each waits ~44 ms; see above)."""
IDLE_POLL_MAX_S = 0.1
"""An idle moto consumer backs off as the local one (``components.dev.consumers``) does."""


# ---------------------------------------------------------------------------------------------
# Servers, each a subprocess on a free loopback port.
# ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], Any], *, timeout_s: float, what: str, interval_s: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(interval_s)


def http_get(port: int, path: str, timeout_s: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class Server:
    """A server subprocess in its own process group, output to a log file."""

    def __init__(self, name: str, command: list[str], log_path: Path, ready: Callable[[Server], bool], **kw: Any):
        self.name, self.command, self.log_path, self._ready, self._kw = name, command, log_path, ready, kw
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            **self._kw,
        )
        log.close()
        wait_for(self._check, timeout_s=START_TIMEOUT_S, what=f"{self.name} (log: {self.log_path})")
        return self

    def _check(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log()[-4000:]}")
        try:
            return self._ready(self)
        except OSError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def start_local(work: Path) -> tuple[Server, int, Path]:
    """``omnicloud dev`` serving ``benchmarks/local_app``; returns (server, port, database)."""
    port = free_port()
    data = work / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNICLOUD_")}
    command = [sys.executable, "-m", "components.cli", "dev", "--json", "--stack", STACK, "--port", str(port)]
    command += ["--data", str(data), "--cwd", str(APP_DIR)]

    def ready(_: Server) -> bool:
        # Healthy, and the warm handler processes answer (the first HTTP call is not timed).
        return http_get(port, "/_omnicloud/health")[0] == 200 and http_get(port, "/web/")[0] == 200

    server = Server("omnicloud dev", command, work / "local-server.log", ready, env=env, cwd=REPO_ROOT).start()
    return server, port, data / f"{STACK}.db"


def start_moto(work: Path) -> tuple[Server, int]:
    port = free_port()
    command = [sys.executable, "-c", "from moto.server import main; main()", "-H", "127.0.0.1", "-p", str(port)]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}
    server = Server("moto_server", command, work / "moto-server.log", lambda _: http_get(port, "/")[0] < 500, env=env)
    return server.start(), port


def start_bare(work: Path, *, tuned: bool) -> tuple[Server, int]:
    port = free_port()
    command = [sys.executable, str(Path(__file__).resolve()), "--bare-server", str(port)]
    command += ["--bare-tuned"] if tuned else []
    name = "bare http.server" + (" (tuned)" if tuned else "")
    log = work / f"bare{'-tuned' if tuned else ''}-server.log"
    server = Server(name, command, log, lambda _: http_get(port, "/")[0] == 200)
    return server.start(), port


def serve_bare(port: int, *, tuned: bool) -> None:
    """The bare server: the standard library's, answering what ``handlers.work.hello`` answers.

    ``tuned``: the socket settings of ``omnicloud dev``'s handler (``components.dev.server``):
    ``disable_nagle_algorithm`` (``TCP_NODELAY`` on each accepted socket) and a buffered
    ``wfile`` (one write per response). Without them, the standard library's two writes per
    response (headers, then body) meet the client's delayed ACK on a kept-alive connection,
    and each response waits ~40 ms for it (Linux).
    """
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from handlers.work import BODY

    payload = BODY.encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = tuned
        wbufsize = -1 if tuned else 0

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/plain; charset=utf-8")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


# ---------------------------------------------------------------------------------------------
# 1. Queue -> function throughput.
# ---------------------------------------------------------------------------------------------


def bodies(n: int) -> list[str]:
    return [json.dumps({"n": i, "task": "bench", "payload": "x" * 32}) for i in range(n)]


class LocalQueueSide:
    """Producer: the runtime client in this process; consumers: the dev server's."""

    def __init__(self, server: Server, database: Path) -> None:
        from components.runtime.clients import link_env_name
        from components.runtime.local.database import Database
        from components.runtime.local.queue_store import QueueStore

        self.server = server
        os.environ[link_env_name("queue", QUEUE)] = json.dumps(
            {"kind": "queue", "cloud": "local", "name": QUEUE, "database": str(database), "fifo": False}
        )
        self.store = QueueStore(Database(database))

    def run(self, n: int) -> dict[str, Any]:
        from components import runtime

        client = runtime.queue(QUEUE)
        messages = bodies(n)
        if self.store.depth(QUEUE).total:
            raise RuntimeError(f"queue {QUEUE} is not empty before the run: {self.store.depth(QUEUE)}")
        log_offset = len(self.server.log())
        started = time.perf_counter()
        for body in messages:
            client.send(body)
        sent = time.perf_counter()
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while self.store.depth(QUEUE).total:
            if time.monotonic() > deadline:
                raise TimeoutError(f"local queue not drained after {DRAIN_TIMEOUT_S:g} s: {self.store.depth(QUEUE)}")
            time.sleep(DRAIN_POLL_S)
        drained = time.perf_counter()
        handled, batches = self._handled(log_offset, n)
        dead = len(self.store.dead_letters(QUEUE))
        if handled != n or dead:
            raise RuntimeError(f"local: {handled} of {n} messages handled OK, {dead} dead-lettered")
        return _queue_result(n, started, sent, drained, batches)

    def _handled(self, offset: int, n: int) -> tuple[int, list[int]]:
        """Messages handled OK and the batch sizes, from the server's JSON log since ``offset``."""

        def read() -> tuple[int, list[int]]:
            sizes = []
            for line in self.server.log()[offset:].splitlines():
                with contextlib.suppress(ValueError):
                    record = json.loads(line)
                    if record.get("kind") == "invocation" and record.get("function") == "consumer":
                        if record.get("outcome") != "ok":
                            raise RuntimeError(f"local consumer invocation failed: {record}")
                        found = re.search(r"\((\d+)\)$", record.get("trigger", ""))
                        if found is None:
                            raise RuntimeError(f"unexpected trigger in the server log (format changed?): {record}")
                        sizes.append(int(found.group(1)))
            return sum(sizes), sizes

        # The last batch's log line is written just after its acks: give it a moment.
        with contextlib.suppress(TimeoutError):
            wait_for(lambda: read()[0] >= n, timeout_s=2, what="the last batch's log line")
        return read()


def _queue_result(n: int, started: float, sent: float, drained: float, batches: list[int]) -> dict[str, Any]:
    total = drained - started
    return {
        "messages": n,
        "seconds": total,
        "rate": n / total,
        "send_seconds": sent - started,
        "send_rate": n / (sent - started),
        "drain_after_send_seconds": drained - sent,
        "batches": len(batches),
        "mean_batch": (sum(batches) / len(batches)) if batches else 0.0,
    }


class MotoQueueSide:
    """Producer: boto3 ``send_message``; consumers: threads receiving, handling, deleting."""

    def __init__(self, port: int, consumers: int) -> None:
        import boto3
        from botocore.config import Config

        self.endpoint = f"http://127.0.0.1:{port}"
        self.consumers = consumers
        self._config = Config(region_name="us-east-1", retries={"max_attempts": 0})
        self._session = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench")
        self.sqs = self._client()
        self._runs = 0

    def _client(self) -> Any:
        return self._session.client("sqs", endpoint_url=self.endpoint, config=self._config)

    def _queue(self) -> str:
        """A fresh queue with the local Queue's settings (QueueArgs defaults) and its DLQ."""
        self._runs += 1
        name = f"{QUEUE}-{self._runs}"
        dlq = self.sqs.create_queue(QueueName=f"{name}-dlq", Attributes={"MessageRetentionPeriod": str(14 * 86400)})
        dlq_arn = self.sqs.get_queue_attributes(QueueUrl=dlq["QueueUrl"], AttributeNames=["QueueArn"])
        attributes = {
            "VisibilityTimeout": "30",
            "MessageRetentionPeriod": str(4 * 86400),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"], "maxReceiveCount": "5"}
            ),
        }
        return self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]

    def run(self, n: int) -> dict[str, Any]:
        from handlers.work import consume

        url = self._queue()
        messages = bodies(n)
        clients = [self._client() for _ in range(self.consumers)]
        lock = threading.Lock()
        done = threading.Event()
        state: dict[str, Any] = {"deleted": 0, "batches": [], "drained": 0.0, "error": None}

        def consumer(sqs: Any) -> None:
            try:
                idle = 0
                while not done.is_set():
                    got = sqs.receive_message(
                        QueueUrl=url,
                        MaxNumberOfMessages=10,
                        MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
                    ).get("Messages", [])
                    if not got:
                        idle += 1
                        done.wait(min(IDLE_POLL_MAX_S, 0.002 * 2**idle))
                        continue
                    idle = 0
                    consume(sqs_batch(url, got), sqs_context())
                    entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)]
                    reply = sqs.delete_message_batch(QueueUrl=url, Entries=entries)
                    if reply.get("Failed"):
                        raise RuntimeError(f"moto: delete_message_batch failed: {reply['Failed']}")
                    with lock:
                        state["deleted"] += len(reply.get("Successful", []))
                        state["batches"].append(len(got))
                        if state["deleted"] >= n:
                            state["drained"] = time.perf_counter()
                            done.set()
            except Exception as exc:
                state["error"] = exc
                done.set()

        threads = [threading.Thread(target=consumer, args=(c,), daemon=True) for c in clients]
        for thread in threads:
            thread.start()
        time.sleep(0.2)  # the consumers are polling (idle) when the clock starts, as the local ones are
        started = time.perf_counter()
        for body in messages:
            self.sqs.send_message(QueueUrl=url, MessageBody=body)
        sent = time.perf_counter()
        done.wait(DRAIN_TIMEOUT_S)
        done.set()
        for thread in threads:
            thread.join(timeout=30)
        if state["error"] is not None:
            raise RuntimeError(f"moto consumer failed: {state['error']!r}") from state["error"]
        if state["deleted"] != n:
            raise RuntimeError(f"moto: {state['deleted']} of {n} messages deleted")
        self.sqs.delete_queue(QueueUrl=url)
        return _queue_result(n, started, sent, state["drained"], state["batches"])


def sqs_batch(url: str, messages: list[dict[str, Any]]) -> Any:
    """SQS messages as the portable ``QueueBatch`` a handler receives (as the AWS adapter builds it)."""
    from components.runtime import QueueBatch, QueueMessage

    return QueueBatch(
        url.rsplit("/", 1)[1],
        tuple(
            QueueMessage(
                id=m["MessageId"],
                body=m["Body"],
                attributes={},
                receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
                sent_at=datetime.fromtimestamp(int(m.get("Attributes", {}).get("SentTimestamp", 0)) / 1000, UTC),
            )
            for m in messages
        ),
    )


def sqs_context() -> Any:
    import uuid

    from components.runtime import Context

    return Context("consumer", "aws", str(uuid.uuid4()))


# ---------------------------------------------------------------------------------------------
# 2. HTTP latency.
# ---------------------------------------------------------------------------------------------


def latencies(port: int, path: str, count: int, warmup: int, *, new_connection: bool, expect: bytes) -> list[float]:
    """Seconds per request, ``count`` sequential GETs after ``warmup`` untimed ones."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out = []
    try:
        for i in range(warmup + count):
            begin = time.perf_counter()
            if new_connection:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            if new_connection:
                conn.close()
            elapsed = time.perf_counter() - begin
            if response.status != 200 or body != expect:
                raise RuntimeError(f"GET {path} on :{port}: {response.status} {body[:200]!r}")
            if i >= warmup:
                out.append(elapsed)
    finally:
        conn.close()
    return out


def percentiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "p50_ms": cuts[49] * 1000,
        "p90_ms": cuts[89] * 1000,
        "p99_ms": cuts[98] * 1000,
        "mean_ms": statistics.fmean(samples) * 1000,
        "max_ms": max(samples) * 1000,
    }


# ---------------------------------------------------------------------------------------------
# Driver.
# ---------------------------------------------------------------------------------------------

HTTP_SIDES = ("local", "bare", "bare_tuned")
HTTP_LABELS = {"local": "local", "bare": "bare", "bare_tuned": "bare tuned"}
HTTP_KEYS = ("p50_ms", "p90_ms", "p99_ms", "mean_ms", "max_ms")
QUEUE_KEYS = ("rate", "seconds", "send_rate", "drain_after_send_seconds", "mean_batch")


def alternate(repeat: int, sides: tuple[str, ...]) -> Iterator[tuple[int, str]]:
    """``(run, side)`` pairs, the sides rotating which goes first each run."""
    for run in range(repeat):
        shift = run % len(sides)
        for side in sides[shift:] + sides[:shift]:
            yield run, side


def summarize(runs: list[dict[str, Any]], keys: tuple[str, ...], *, higher_is_better: tuple[str, ...] = ()) -> dict:
    """Per key: ``best`` (highest rate / lowest time of the runs) and ``median``, plus every run."""
    best = {k: (max if k in higher_is_better else min)(r[k] for r in runs) for k in keys}
    median = {k: statistics.median(r[k] for r in runs) for k in keys}
    return {"best": best, "median": median, "runs": runs}


def run_benchmark(args: argparse.Namespace, say: Callable[[str], None]) -> dict[str, Any]:
    from handlers.work import BODY

    from components.dev.server import QUEUE_CONCURRENCY

    expect = BODY.encode()
    work = Path(tempfile.mkdtemp(prefix="omnicloud-local-bench-"))
    servers: list[Server] = []
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "moto": _version("moto"),
            "boto3": _version("boto3"),
            "loadavg_before": os.getloadavg(),
        },
        "config": {
            "messages": args.messages,
            "requests": args.requests,
            "warmup": args.warmup,
            "repeat": args.repeat,
            "consumer_threads": QUEUE_CONCURRENCY,
            "headline": "best of the runs (highest msg/s, lowest ms); medians alongside",
        },
    }
    try:
        say("starting omnicloud dev, moto_server and the bare HTTP servers ...")
        local, local_port, database = start_local(work)
        servers.append(local)
        if not args.skip_queue:
            moto, moto_port = start_moto(work)
            servers.append(moto)
            local_side = LocalQueueSide(local, database)
            moto_side = MotoQueueSide(moto_port, QUEUE_CONCURRENCY)
            # One small untimed round each: imports, first connections, SQLite pages, and (local)
            # a warm handler process for each consumer thread.
            local_side.run(min(200, args.messages))
            moto_side.run(min(200, args.messages))
            queue_runs: dict[str, list[dict[str, Any]]] = {"local": [], "moto": []}
            for run, side in alternate(args.repeat, ("local", "moto")):
                result = (local_side if side == "local" else moto_side).run(args.messages)
                queue_runs[side].append(result)
                say(
                    f"queue run {run + 1}/{args.repeat} {side:5}: {result['rate']:7.0f} msg/s "
                    f"({result['seconds']:.2f} s, load {os.getloadavg()[0]:.2f})"
                )
            queue: dict[str, Any] = {
                side: summarize(runs, QUEUE_KEYS, higher_is_better=("rate", "send_rate"))
                for side, runs in queue_runs.items()
            }
            queue["ratio"] = queue["local"]["best"]["rate"] / queue["moto"]["best"]["rate"]
            queue["ratio_median"] = queue["local"]["median"]["rate"] / queue["moto"]["median"]["rate"]
            queue["target"] = TARGET_QUEUE_RATIO
            queue["met"] = queue["ratio"] >= TARGET_QUEUE_RATIO
            results["queue"] = queue

        if not args.skip_http:
            bare, bare_port = start_bare(work, tuned=False)
            servers.append(bare)
            tuned, tuned_port = start_bare(work, tuned=True)
            servers.append(tuned)
            targets = {"local": (local_port, "/web/"), "bare": (bare_port, "/"), "bare_tuned": (tuned_port, "/")}
            modes = [("keep_alive", False)] + ([("new_connection", True)] if args.new_connection else [])
            http_results: dict[str, Any] = {}
            for mode, fresh in modes:
                runs: dict[str, list[dict[str, Any]]] = {side: [] for side in HTTP_SIDES}
                for run, side in alternate(args.repeat, HTTP_SIDES):
                    port, path = targets[side]
                    count, warmup = args.requests, args.warmup
                    if side == "bare" and not fresh:
                        # ~44 ms a request (the delayed-ACK stall): a reference, kept short.
                        count, warmup = min(count, STALLED_REQUESTS), min(warmup, 20)
                    samples = latencies(port, path, count, warmup, new_connection=fresh, expect=expect)
                    stats = percentiles(samples)
                    runs[side].append(stats)
                    say(
                        f"http {mode} run {run + 1}/{args.repeat} {side:12}: "
                        f"p50 {stats['p50_ms']:.3f} ms, p99 {stats['p99_ms']:.3f} ms"
                    )
                entry: dict[str, Any] = {side: summarize(r, HTTP_KEYS) for side, r in runs.items()}
                for base in ("bare", "bare_tuned"):
                    for stat in ("p50_ms", "p99_ms"):
                        key = f"{stat.removesuffix('_ms')}_ratio_vs_{base}"
                        entry[key] = entry["local"]["best"][stat] / entry[base]["best"][stat]
                        entry[key + "_median"] = entry["local"]["median"][stat] / entry[base]["median"][stat]
                http_results[mode] = entry
            http_results["target"] = TARGET_LATENCY_RATIO
            http_results["target_baseline"] = "bare_tuned"
            http_results["met"] = http_results["keep_alive"]["p50_ratio_vs_bare_tuned"] <= TARGET_LATENCY_RATIO
            results["http"] = http_results
    except BaseException:
        for server in servers:
            sys.stderr.write(f"--- {server.name} log (last 3000 chars) ---\n{server.log()[-3000:]}\n")
        raise
    finally:
        for server in servers:
            server.stop()
        results["machine"]["loadavg_after"] = os.getloadavg()
        if args.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return results


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def _verdict(met: bool) -> str:
    return "[green]met[/]" if met else "[red]missed[/]"


def report(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=132)
    machine, config = results["machine"], results["config"]
    console.print(
        f"[bold]omnicloud dev vs moto / bare http.server[/]: {machine['nproc']} cores, Python {machine['python']}, "
        f"moto {machine['moto']}; load {machine['loadavg_before'][0]:.2f} → {machine['loadavg_after'][0]:.2f}; "
        f"best (median) of {config['repeat']} runs"
    )
    if "queue" in results:
        queue = results["queue"]
        table = Table(title=f"Queue → function: {config['messages']} messages sent one by one, drained")
        for column in ("side", "msg/s", "total s", "send msg/s", "drain after last send s", "mean batch"):
            table.add_column(column, justify="left" if column == "side" else "right")
        for side in ("local", "moto"):
            best, median = queue[side]["best"], queue[side]["median"]
            table.add_row(
                side,
                f"{best['rate']:.0f} ({median['rate']:.0f})",
                f"{best['seconds']:.2f} ({median['seconds']:.2f})",
                f"{best['send_rate']:.0f} ({median['send_rate']:.0f})",
                f"{best['drain_after_send_seconds']:.3f} ({median['drain_after_send_seconds']:.3f})",
                f"{median['mean_batch']:.1f}",
            )
        console.print(table)
        console.print(
            f"local/moto throughput: [bold]{queue['ratio']:.1f}x[/] (medians {queue['ratio_median']:.1f}x); "
            f"target ≥ {queue['target']:g}x: {_verdict(queue['met'])}"
        )
    if "http" in results:
        http_results = results["http"]
        table = Table(title=f"HTTP latency: {config['requests']} sequential GETs after {config['warmup']} warm-up")
        for column in ("connection", "server", "p50 ms", "p90 ms", "p99 ms", "mean ms", "max ms"):
            table.add_column(column, justify="left" if column in ("connection", "server") else "right")
        for mode in ("keep_alive", "new_connection"):
            if mode not in http_results:
                continue
            for side in HTTP_SIDES:
                best, median = http_results[mode][side]["best"], http_results[mode][side]["median"]
                table.add_row(
                    mode.replace("_", "-"),
                    HTTP_LABELS[side],
                    *(f"{best[k]:.3f} ({median[k]:.3f})" for k in HTTP_KEYS[:-1]),
                    f"{best['max_ms']:.1f}",
                )
        console.print(table)
        for mode in ("keep_alive", "new_connection"):
            if mode in http_results:
                e = http_results[mode]
                console.print(
                    f"{mode.replace('_', '-')}: local/bare p50 {e['p50_ratio_vs_bare']:.2f}x, "
                    f"local/bare tuned p50 [bold]{e['p50_ratio_vs_bare_tuned']:.2f}x[/], "
                    f"p99 {e['p99_ratio_vs_bare_tuned']:.2f}x"
                )
        console.print(
            f"target: keep-alive p50 ≤ {http_results['target']:g}x bare tuned: {_verdict(http_results['met'])}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="500 messages, 500 requests after 50 warm-up")
    parser.add_argument("--messages", type=int, help="messages per queue run (default 2000; --quick 500)")
    parser.add_argument("--requests", type=int, help="timed requests per HTTP run (default 2000; --quick 500)")
    parser.add_argument("--warmup", type=int, help="untimed requests before each HTTP run (200; --quick 50)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per side (3)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every number to PATH")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument(
        "--no-new-connection",
        dest="new_connection",
        action="store_false",
        help="skip the new-connection-per-request HTTP variant",
    )
    parser.add_argument("--skip-queue", action="store_true", help="only the HTTP measurement")
    parser.add_argument("--skip-http", action="store_true", help="only the queue measurement")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (server logs, database)")
    parser.add_argument("--bare-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--bare-tuned", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_server is not None:
        serve_bare(args.bare_server, tuned=args.bare_tuned)
        return 0
    default = 500 if args.quick else 2000
    args.messages = args.messages or default
    args.requests = args.requests or default
    args.warmup = args.warmup if args.warmup is not None else (50 if args.quick else 200)
    if args.messages < 1 or args.requests < 2 or args.repeat < 1 or args.warmup < 0:
        parser.error("--messages must be at least 1, --requests at least 2, --repeat at least 1, --warmup at least 0")

    started = time.perf_counter()
    results = run_benchmark(args, lambda line: print(line, file=sys.stderr, flush=True))
    results["wall_seconds"] = time.perf_counter() - started
    report(results)
    print(f"({results['wall_seconds']:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    missed = [name for name in ("queue", "http") if name in results and not results[name]["met"]]
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
