"""AWS emulator fixtures: moto's server on loopback, and helpers to address it.

moto runs as a real HTTP server (``ThreadedMotoServer``) rather than ``mock_aws``'s in-process
patching, so every boto3 call goes over the wire exactly as it would to AWS, and the clients
under test find it the way a deployed function finds its endpoint: ``AWS_ENDPOINT_URL``.
One server serves the whole session; tests use unique resource names instead of resetting it.

Import the fixtures into a test module to use them::

    from .aws_emulators import aws_fixture, moto_endpoint_fixture  # noqa: F401

(registered under the names ``aws`` and ``moto_endpoint``, so test parameters of those names
do not shadow an import).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.runtime.emulators import emulator_missing

REGION = "us-east-1"
ACCOUNT = "123456789012"
"""moto's default account id."""

_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
}


def unique(prefix: str) -> str:
    """A resource name no other test in the session uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def point_boto3_at(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    """Fake credentials and ``AWS_ENDPOINT_URL`` for every boto3 client made from now on."""
    for key, value in _FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    # Nothing from the developer's own AWS configuration may leak into a test.
    for key in ("AWS_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")


@pytest.fixture(scope="session", name="moto_endpoint")
def moto_endpoint_fixture() -> Iterator[str]:
    """The URL of a moto server on 127.0.0.1 (a free port), for the whole session."""
    try:
        import moto.server as moto_server
    except ImportError as exc:
        # A dev dependency: missing it in CI is a broken install, not a reason to skip.
        emulator_missing(f"moto[server] is not installed ({exc}); pip install -e '.[dev]'")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@dataclass
class Aws:
    """boto3 clients against the emulator, for arranging and inspecting resources."""

    endpoint: str
    region: str = REGION

    def client(self, service: str) -> Any:
        import boto3

        return boto3.session.Session(region_name=self.region).client(service, endpoint_url=self.endpoint)


@pytest.fixture(name="aws")
def aws_fixture(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Aws:
    """moto, with boto3 in this test pointed at it through the environment."""
    point_boto3_at(monkeypatch, moto_endpoint)
    return Aws(moto_endpoint)
