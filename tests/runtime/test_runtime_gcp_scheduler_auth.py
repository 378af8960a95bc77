"""A public, scheduled GCP function accepts scheduled calls only with the scheduler's OIDC token.

The token check is google-auth's real verification (signature against published certs,
expiry), pointed at certificates this test serves on loopback, with tokens it signs itself.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt

from components.runtime.adapters import gcp
from tests.runtime.test_runtime_gcp import SCHEDULED_BODY, SCHEDULER_HEADERS, client  # noqa: F401

SCHEDULER_EMAIL = "nightly-sched-1a2b3c@omnicloud-test.iam.gserviceaccount.com"
HOST = "api-abc123-uc.a.run.app"


def _key_and_cert() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-google-oidc")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return private, cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def signing_key() -> Iterator[tuple[crypt.RSASigner, str]]:
    """A signer and the loopback URL publishing its certificate as Google's certs endpoint."""
    private, cert = _key_and_cert()
    body = json.dumps({"test-kid": cert.decode()}).encode()

    class Certs(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Certs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield crypt.RSASigner.from_string(private, key_id="test-kid"), f"http://127.0.0.1:{server.server_port}/certs"
    finally:
        server.shutdown()


@pytest.fixture
def public_scheduled(monkeypatch: pytest.MonkeyPatch, signing_key) -> crypt.RSASigner:
    signer, url = signing_key
    monkeypatch.setattr(gcp, "GOOGLE_OIDC_CERTS_URL", url)
    monkeypatch.setenv("OMNICLOUD_HTTP", "public")
    monkeypatch.setenv("OMNICLOUD_SCHEDULER_IDENTITY", SCHEDULER_EMAIL)
    return signer


def _token(signer: crypt.RSASigner, **overrides: object) -> str:
    now = int(time.time())
    claims = {
        "iss": "https://accounts.google.com",
        "aud": f"https://{HOST}",
        "email": SCHEDULER_EMAIL,
        "email_verified": True,
        "sub": "1234567890",
        "iat": now,
        "exp": now + 600,
        **overrides,
    }
    return jwt.encode(signer, claims).decode()


def _handled(user_app) -> list:
    """Calls the handler received; a refused call never even imports the handler module."""
    module = sys.modules.get(user_app.name)
    return [] if module is None else module.CALLS


def _call(client, token: str | None):  # noqa: F811 - the imported fixture
    headers = {**SCHEDULER_HEADERS, "Content-Type": "application/json", "Host": HOST}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.post("/", data=json.dumps(SCHEDULED_BODY), headers=headers)


def test_scheduler_token_signed_for_this_host_runs_the_job(client, public_scheduled, user_app):  # noqa: F811
    response = _call(client, _token(public_scheduled))
    assert response.status_code == 204
    assert len(user_app.calls) == 1


@pytest.mark.parametrize(
    "claims",
    [
        {"email": "attacker@evil-project.iam.gserviceaccount.com"},
        {"aud": "https://some-other-service.a.run.app"},
        {"iss": "https://evil.example"},
        {"email_verified": False},
        {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
    ],
)
def test_forged_or_foreign_scheduler_calls_are_refused(client, public_scheduled, user_app, claims):  # noqa: F811
    response = _call(client, _token(public_scheduled, **claims))
    assert response.status_code == 403
    assert _handled(user_app) == []


def test_scheduled_call_without_a_token_is_refused_on_a_public_function(client, public_scheduled, user_app):  # noqa: F811
    assert _call(client, None).status_code == 403
    assert _handled(user_app) == []


def test_token_signed_by_another_key_is_refused(client, public_scheduled, user_app):  # noqa: F811
    private, _ = _key_and_cert()
    stranger = crypt.RSASigner.from_string(private, key_id="test-kid")
    assert _call(client, _token(stranger)).status_code == 403
    assert _handled(user_app) == []


def test_private_function_relies_on_cloud_run_iam(client, monkeypatch, user_app):  # noqa: F811
    monkeypatch.setenv("OMNICLOUD_HTTP", "private")
    assert _call(client, None).status_code == 204
    assert len(user_app.calls) == 1
