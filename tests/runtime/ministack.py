"""The ministack emulator for the whole test session, and helpers to deploy real Lambdas to it.

ministack (PyPI, a pure-Python AWS emulator) pins its own botocore, so it lives in its own
virtualenv: ``$OMNICLOUD_MINISTACK_VENV`` or ``<repo>/.venv-ministack``, created on first use
with ``python3 -m venv`` + ``pip install ministack==1.5.33 boto3`` (CI creates it beforehand). boto3 is
installed beside it because ministack runs a Python function's code with its own interpreter,
and the real Lambda Python runtime ships boto3: the archive, like a real one, does not vendor
it. The server is bound to 127.0.0.1 on a free port and stopped after the session.

One server serves every test module (registered once as a plugin by ``tests/conftest.py``, so
the session fixture is not re-created per importing module). It runs Step Functions with
``SFN_WAIT_SCALE=0``: Wait states and retry back-off take no real time, so the workflow
agreement tests stay fast; the back-off schedule itself is checked on the local interpreter.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from components.packaging import ArchiveSpec, Vendored, build_archive
from tests.conftest import REPO_ROOT
from tests.runtime.aws_emulators import REGION, point_boto3_at, unique
from tests.runtime.emulators import emulator_missing, emulator_venv, free_port

ADAPTER = "components.runtime.adapters.aws.handler"
RUNTIME = "python3.11"
T = TypeVar("T")


def ministack_venv() -> Path:
    return Path(os.environ.get("OMNICLOUD_MINISTACK_VENV") or REPO_ROOT / ".venv-ministack")


MINISTACK_REQUIREMENTS = ("ministack==1.5.33", "boto3")
"""What the emulator's venv holds. ministack is pinned because the behaviour these tests rely
on (event source mappings, partial-batch responses, redrive, its Step Functions interpreter) is
the emulator's, and it changes often; boto3 resolves to the release matching ministack's pinned
botocore."""


def ensure_ministack(venv: Path) -> Path:
    """The ``ministack`` executable of ``venv``, installing ministack and boto3 there if missing."""
    python = emulator_venv(venv, MINISTACK_REQUIREMENTS, "ministack, boto3")
    executable = python.parent / "ministack"
    if not executable.exists():
        emulator_missing(f"{executable} missing after installing {' '.join(MINISTACK_REQUIREMENTS)}")
    return executable


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ministack exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_ministack/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"ministack not ready after {timeout_s}s:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def ministack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a ministack server on 127.0.0.1 for this session."""
    executable = ensure_ministack(ministack_venv())
    work = tmp_path_factory.mktemp("ministack")
    port = free_port()
    log = work / "ministack.log"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        # Its pid file and Lambda code directories go under TMPDIR, its state under STATE_DIR:
        # both inside this session's temporary directory.
        "TMPDIR": str(work),
        "STATE_DIR": str(work / "state"),
        "BIND_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(port),
        "MINISTACK_REGION": REGION,
        "LOG_LEVEL": "INFO",
        # Step Functions Wait states and retry back-off scaled to no real time.
        "SFN_WAIT_SCALE": "0",
    }
    with log.open("wb") as sink:
        # Its own session, so teardown can stop the Lambda worker processes it spawns too.
        process = subprocess.Popen(
            [str(executable)], env=env, cwd=work, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, log)
        yield url
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass


Clients = Callable[[str], Any]


@pytest.fixture
def cloud(ministack: str, monkeypatch: pytest.MonkeyPatch) -> Clients:
    """boto3 client factory against ministack (the runtime clients find it the same way)."""
    point_boto3_at(monkeypatch, ministack)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    return client_factory(ministack)


def client_factory(endpoint: str) -> Clients:
    """boto3 clients for ``endpoint`` with test credentials (usable outside a test function)."""

    def client(service: str) -> Any:
        import boto3

        return boto3.session.Session(region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test").client(
            service, endpoint_url=endpoint
        )

    return client


def eventually(probe: Callable[[], T | None], *, timeout_s: float = 60, what: str, every_s: float = 0.5) -> T:
    """Poll ``probe`` until it returns something truthy (bounded in time)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def archive(root: Path, handler: str) -> bytes:
    """The deployment archive our packager builds for ``handler`` under ``root``."""
    built = build_archive(
        ArchiveSpec(
            handler=handler,
            dependencies=Vendored(platforms=("manylinux2014_x86_64",), python_version="3.11"),
        ),
        root=root,
    )
    assert "components/runtime/adapters/aws.py" in built.files
    assert "components/runtime/clients/aws.py" in built.files
    assert f"{handler.rsplit('.', 1)[0].replace('.', '/')}.py" in built.files
    return built.path.read_bytes()


def create_role(client: Clients) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    return client("iam").create_role(RoleName=unique("fn-role"), AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]


def create_function(
    client: Clients,
    ministack: str,
    *,
    code: bytes,
    handler: str,
    role: str,
    env: dict[str, str],
    name: str | None = None,
    runtime: str = RUNTIME,
) -> str:
    """Deploy ``code`` as a Lambda whose omnicloud handler is ``handler``; its name, once Active."""
    name = name or unique(handler.rsplit(".", 2)[-2])
    lam = client("lambda")
    lam.create_function(
        FunctionName=name,
        Runtime=runtime,
        Role=role,
        Handler=ADAPTER,
        Code={"ZipFile": code},
        Timeout=30,
        Environment={
            "Variables": {
                "OMNICLOUD_HANDLER": handler,
                "OMNICLOUD_CLOUD": "aws",
                # boto3 inside the function talks to the emulator, like every SDK client here.
                "AWS_ENDPOINT_URL": ministack,
                **env,
            }
        },
    )
    eventually(
        lambda: lam.get_function_configuration(FunctionName=name).get("State") == "Active",
        timeout_s=30,
        what=f"function {name} to become Active",
    )
    return name
