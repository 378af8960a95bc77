"""Cloud Workflows on loopback: workflows-emulator, and the golden handlers behind our GCP adapter.

* The emulator (PyPI ``workflows-emulator``) pins an old FastAPI/Starlette that cannot share a
  virtualenv with functions-framework, so — like ministack in ``test_ministack_e2e`` — it lives
  in its own: ``$OMNICLOUD_WORKFLOWS_VENV`` or ``<repo>/.venv-workflows``, created on first use.
  :mod:`tests.workflow.gcp_emulator_driver` runs there as a loopback HTTP service (see its
  docstring for why, and for the three fidelity shims it applies).
* Each handler of :mod:`tests.workflow.handlers` is served the way Cloud Functions serves a
  deployment: functions-framework (gunicorn) loading the ``main.py`` our GCP adapter renders,
  with ``OMNICLOUD_HANDLER`` naming the handler, on its own loopback port. They are private
  functions (``OMNICLOUD_HTTP=private``): on GCP, Cloud Run IAM checks the workflow's OIDC token
  before the adapter sees the call.

Where the emulator or its venv cannot be had, the tests skip locally and fail under ``CI``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.runtime.adapters import gcp
from tests.conftest import REPO_ROOT
from tests.runtime.emulators import emulator_venv, free_port
from tests.workflow import handlers

EMULATOR_REQUIREMENT = "workflows-emulator==1.10.0"
"""Pinned: what the agreement tests record as the emulator's gaps is this release's behaviour."""
DRIVER = Path(__file__).with_name("gcp_emulator_driver.py")
START_TIMEOUT_S = 60.0
EXECUTION_TIMEOUT_S = 120.0


def workflows_venv() -> Path:
    return Path(os.environ.get("OMNICLOUD_WORKFLOWS_VENV") or REPO_ROOT / ".venv-workflows")


def ensure_emulator(venv: Path) -> Path:
    """The Python of ``venv``, installing workflows-emulator there if it is missing."""
    return emulator_venv(venv, (EMULATOR_REQUIREMENT,), "workflows_emulator")


@dataclass
class _Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def _start(name: str, command: list[str], env: dict[str, str], workdir: Path, port: int) -> _Server:
    log = workdir / f"{name}.log"
    with log.open("wb") as sink:
        # Its own session, so teardown stops gunicorn's workers with the arbiter.
        process = subprocess.Popen(
            command, env=env, cwd=REPO_ROOT, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    return _Server(name, f"http://127.0.0.1:{port}", process, log)


def _wait_answering(server: _Server, probe: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode}:\n{server.log.read_text()[-4000:]}"
            )
        try:
            with urllib.request.urlopen(server.url + probe, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer means the server is up
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{server.name} not answering after {START_TIMEOUT_S}s:\n{server.log.read_text()[-4000:]}")


def _stop(server: _Server) -> None:
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, sig)
        try:
            server.process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def workflows_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of the emulator driver on 127.0.0.1 for this session."""
    python = ensure_emulator(workflows_venv())
    work = tmp_path_factory.mktemp("workflows-emulator")
    port = free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(work), "PYTHONUNBUFFERED": "1"}
    server = _start("workflows-emulator", [str(python), str(DRIVER), str(port)], env, work, port)
    try:
        _wait_answering(server, "/health")
        yield server.url
    finally:
        _stop(server)


@dataclass(frozen=True)
class TaskFunctions:
    """The golden handlers as HTTP functions: ``urls`` by handler name, and their counters."""

    urls: dict[str, str]
    counters: Path


@pytest.fixture(scope="session")
def task_functions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TaskFunctions]:
    """Every handler of :mod:`tests.workflow.handlers` behind functions-framework and our adapter."""
    work = tmp_path_factory.mktemp("gcp-functions")
    source = work / "deploy" / "main.py"
    source.parent.mkdir()
    source.write_text(gcp.entry_files()["main.py"])
    counters = work / "counters"
    servers: list[_Server] = []
    try:
        for name in handlers.NAMES:
            port = free_port()
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": str(work),
                "PYTHONPATH": str(REPO_ROOT),
                "OMNICLOUD_HANDLER": f"tests.workflow.handlers.{name}",
                "OMNICLOUD_FUNCTION": name,
                "OMNICLOUD_CLOUD": "gcp",
                "OMNICLOUD_HTTP": "private",
                handlers.COUNTERS_ENV: str(counters),
                "THREADS": "16",  # concurrent executions call the same function at once
            }
            command = [
                sys.executable, "-m", "functions_framework",
                "--target", gcp.ENTRY_POINT, "--source", str(source), "--host", "127.0.0.1", "--port", str(port),
            ]  # fmt: skip
            servers.append(_start(name, command, env, work, port))
        for server in servers:
            # Under the reserved prefix: answered by the adapter without calling the handler.
            _wait_answering(server, "/_omnicloud/ready")
        yield TaskFunctions({server.name: server.url for server in servers}, counters)
    finally:
        for server in servers:
            _stop(server)


def execute(emulator: str, source: str, argument: Any) -> dict[str, Any]:
    """Run ``source`` with ``argument`` on the emulator; its answer (see the driver)."""
    request = urllib.request.Request(
        f"{emulator}/executions",
        data=json.dumps({"source": source, "argument": argument}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=EXECUTION_TIMEOUT_S) as response:
        return json.loads(response.read())


def outcome(answer: dict[str, Any]) -> dict[str, Any]:
    """The emulator's answer in the comparable shape of :func:`tests.workflow.local.outcome`."""
    if answer["state"] == "SUCCEEDED":
        return {"status": "SUCCEEDED", "output": answer["result"]}
    error = answer["error"]
    if answer["state"] == "FAILED" and isinstance(error, dict) and set(error) == {"error", "cause"}:
        return {"status": "FAILED", "error": error["error"], "cause": error["cause"]}
    return {"status": answer["state"], "detail": error}
