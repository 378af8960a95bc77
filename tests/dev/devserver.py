"""`omnicloud dev` as a subprocess on a free loopback port: start, wait until it serves, call it,
SIGKILL it, restart it on the same data."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

START_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], Any], *, timeout_s: float, what: str, interval_s: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(interval_s)


class DevProcess:
    """One `omnicloud dev --json` process serving ``project`` with state in ``data``."""

    def __init__(self, project: Path, data: Path, *, stack: str = "dev-local", port: int | None = None) -> None:
        self.project, self.data, self.stack = project, data, stack
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data.parent / f"{data.name}-server.log"

    def start(self) -> DevProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMNICLOUD_")}
        command = [sys.executable, "-m", "components.cli", "dev", "--json", "--stack", self.stack]
        command += ["--port", str(self.port), "--data", str(self.data), "--cwd", str(self.project)]
        log = self.log_path.open("ab")
        # Its own process group, so a SIGKILL of the group takes its handler processes too, as
        # a machine crash would.
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        wait_for(self._healthy, timeout_s=START_TIMEOUT_S, what=f"omnicloud dev on {self.url} (log: {self.log_path})")
        return self

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"omnicloud dev exited with {self.process.returncode}:\n{self.log()}")
        try:
            return self.request("GET", "/_omnicloud/health")[0] == 200
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL the server and its handler processes: no clean-up runs anywhere."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def records(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The server's JSON log records (of one ``kind``)."""
        out = []
        for line in self.log().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and (kind is None or record.get("kind") == kind):
                out.append(record)
        return out

    def request(self, method: str, path: str, body: Any = None, timeout_s: float = 30) -> tuple[int, Any]:
        """``(status, parsed JSON body or text)``."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("content-type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")
