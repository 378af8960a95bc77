"""Google's Pub/Sub and Firestore emulators as pytest fixtures.

Each emulator is started once per session through ``gcloud`` on a free loopback port, in its
own process group (gcloud → shell script → java), waited for until it answers HTTP, and the
whole group is killed at teardown. Tests get the SDKs pointed at it through
``PUBSUB_EMULATOR_HOST`` / ``FIRESTORE_EMULATOR_HOST`` (the function-scoped fixtures set
them, so nothing leaks into other tests).

Where ``gcloud`` (or the emulator component) is missing the tests skip, saying so; under CI
(``CI`` set) they fail instead, because CI must run them. The emulators ship as the Debian
packages ``google-cloud-cli-pubsub-emulator`` and ``google-cloud-cli-firestore-emulator``
(with ``google-cloud-cli``) and need a Java runtime (17+).

Import the fixture functions into a test module to use them (``from
tests.runtime.gcp_emulators import pubsub_emulator_fixture, pubsub_env_fixture``); pytest
knows them by their short names (``pubsub_env``...).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.runtime.emulators import emulator_missing, free_port

PROJECT = "test-project"
START_TIMEOUT_S = 90.0
# No prompts and no update check: CI has no terminal and no network beyond package registries.
QUIET_GCLOUD = {
    "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
    "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "1",
    "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "1",
}


@dataclass(frozen=True)
class Emulator:
    """A running emulator: ``host`` is ``127.0.0.1:<port>``."""

    name: str
    host: str
    log: Path


def _answers(host: str) -> bool:
    # Both emulators answer "Ok" on GET / once their server is up.
    try:
        with urllib.request.urlopen(f"http://{host}/", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the emulator's whole process group (the java server is a grandchild)."""
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    # The group may outlive the gcloud leader briefly; make sure the java child is gone too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _start(name: str, args: list[str], workdir: Path) -> tuple[Emulator, subprocess.Popen[bytes]]:
    """Start ``gcloud <args> --host-port=127.0.0.1:<port>``; return once it answers."""
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        emulator_missing(f"the {name} emulator needs gcloud, which is not installed")
    host = f"127.0.0.1:{free_port()}"
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [gcloud, *args, f"--host-port={host}"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, killed whole at teardown
            env={**os.environ, **QUIET_GCLOUD},
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(host):
            if process.poll() is not None:
                emulator_missing(
                    f"the {name} emulator exited at start ({process.returncode}): {log.read_text()[-2000:]}"
                )
            if time.monotonic() > deadline:
                pytest.fail(f"the {name} emulator did not answer within {START_TIMEOUT_S}s: {log.read_text()[-2000:]}")
            time.sleep(0.2)
    except BaseException:
        _stop(process)
        raise
    return Emulator(name=name, host=host, log=log), process


# One emulator per kind and process. Every test module that imports a session fixture gets
# its own copy of it from pytest, so the fixtures share the process through this table and
# the last one to finish stops it.
_SHARED: dict[str, tuple[Emulator, subprocess.Popen[bytes], int]] = {}


@contextlib.contextmanager
def running(name: str, args: list[str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """The shared emulator ``name``, started with ``gcloud <args>`` if none runs yet."""
    if name not in _SHARED:
        workdir = tmp_path_factory.mktemp(f"{name}-emulator")
        emulator, process = _start(name, [arg.format(workdir=workdir) for arg in args], workdir)
        _SHARED[name] = (emulator, process, 0)
    emulator, process, users = _SHARED[name]
    _SHARED[name] = (emulator, process, users + 1)
    try:
        yield emulator
    finally:
        emulator, process, users = _SHARED[name]
        if users == 1:
            del _SHARED[name]
            _stop(process)
        else:
            _SHARED[name] = (emulator, process, users - 1)


@pytest.fixture(scope="session", name="pubsub_emulator")
def pubsub_emulator_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """``gcloud beta emulators pubsub start`` for the session."""
    # gcloud writes env.yaml into the data dir and fails if the dir is missing: use the
    # work dir itself, which exists.
    args = ["beta", "emulators", "pubsub", "start", f"--project={PROJECT}", "--data-dir={workdir}"]
    with running("pubsub", args, tmp_path_factory) as emulator:
        yield emulator


@pytest.fixture(scope="session", name="firestore_emulator")
def firestore_emulator_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """``gcloud emulators firestore start`` (Native mode) for the session."""
    args = ["emulators", "firestore", "start", "--database-mode=firestore-native"]
    with running("firestore", args, tmp_path_factory) as emulator:
        yield emulator


@pytest.fixture(name="pubsub_env")
def pubsub_env_fixture(pubsub_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The Pub/Sub SDK pointed at the emulator for this test."""
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", pubsub_emulator.host)
    return pubsub_emulator


@pytest.fixture(name="firestore_env")
def firestore_env_fixture(firestore_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The Firestore SDK pointed at the emulator for this test."""
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore_emulator.host)
    return firestore_emulator


def unique(prefix: str) -> str:
    """A resource name no other test uses (the emulators keep state for the session)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
