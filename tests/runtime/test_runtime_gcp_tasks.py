"""The GCP adapter's workflow task route: ``POST /_omnicloud/task`` under functions-framework.

The reply contract is Cloud Workflows' side of :mod:`components.runtime.orchestration.task`: always
200 with ``{"output"}`` or ``{"error", "cause"}``. A public function checks the caller's Google
OIDC token itself (google-auth's real verification against certificates served on loopback,
with tokens this test signs), accepting only the workflows listed in ``OMNICLOUD_TASK_CALLERS``.
"""

from __future__ import annotations

import json
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from google.auth import crypt, jwt

from components.runtime import env, handler
from components.runtime.adapters import gcp
from components.runtime.orchestration.task import TASK_ROUTE, task_envelope
from tests.runtime.conftest import UserApp
from tests.runtime.test_runtime_gcp import client as functions_framework_client  # noqa: F401 - fixture
from tests.runtime.test_runtime_gcp_scheduler_auth import _key_and_cert
from tests.runtime.test_runtime_gcp_scheduler_auth import signing_key as certs_and_signer  # noqa: F401 - fixture

APP_SOURCE = textwrap.dedent(
    '''
    """A user's workflow task handler."""
    from components.runtime.orchestration import TaskFailed

    CALLS = []


    def handle(event, ctx):
        CALLS.append((event, ctx))
        if "decline" in event:
            raise TaskFailed("PaymentDeclined", event["decline"])
        if "boom" in event:
            raise ValueError(event["boom"])
        if "opaque" in event:
            return {1, 2}
        return {"total": event["qty"] * 5, "function": ctx.function, "cloud": ctx.cloud}
    '''
)
HOST = "pricer-abc123-ew.a.run.app"
WORKFLOW_EMAIL = "checkout-wf-1a2b@omnicloud-test.iam.gserviceaccount.com"
OTHER_WORKFLOW_EMAIL = "refunds-wf-3c4d@omnicloud-test.iam.gserviceaccount.com"


@pytest.fixture(name="client")
def client_fixture(request: pytest.FixtureRequest) -> FlaskClient:
    """functions-framework serving the rendered main.py with this module's ``user_app``."""
    return request.getfixturevalue("functions_framework_client")


@pytest.fixture
def user_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UserApp]:
    name = f"omni_gcp_tasks_{uuid.uuid4().hex[:10]}"
    (tmp_path / f"{name}.py").write_text(APP_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(env.HANDLER, f"{name}.handle")
    monkeypatch.setenv(env.FUNCTION, "pricer")
    monkeypatch.delenv(env.HTTP, raising=False)
    monkeypatch.delenv(env.TASK_CALLERS, raising=False)
    handler._clear_cache()
    yield UserApp(name=name, module_dir=tmp_path)
    handler._clear_cache()
    sys.modules.pop(name, None)


def calls(user_app: UserApp) -> list[Any]:
    """The inputs the handler received (none if it was never even imported)."""
    module = sys.modules.get(user_app.name)
    return [] if module is None else [event for event, _ in module.CALLS]


def post_task(client: FlaskClient, input: Any, token: str | None = None, **extra: Any) -> Any:
    headers = {"Host": HOST, **({"Authorization": f"Bearer {token}"} if token else {})}
    body = task_envelope("checkout", "price", input)
    return client.post(TASK_ROUTE, data=json.dumps(body), headers=headers, content_type="application/json", **extra)


# --- the reply contract ------------------------------------------------------------------------


def test_task_input_reaches_the_handler_and_its_output_is_the_reply(client: FlaskClient, user_app: UserApp) -> None:
    response = post_task(client, {"qty": 3})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {"output": {"total": 15, "function": "pricer", "cloud": "gcp"}}
    assert calls(user_app) == [{"qty": 3}]


@pytest.mark.parametrize(
    ("input", "error"),
    [
        ({"decline": "card expired"}, {"error": "PaymentDeclined", "cause": "card expired"}),
        ({"boom": "bad sku 'x'"}, {"error": "ValueError", "cause": "bad sku 'x'"}),
        ({"qty": None}, {"error": "TypeError", "cause": "unsupported operand type(s) for *: 'NoneType' and 'int'"}),
        ({"opaque": True}, {"error": "TypeError", "cause": "Object of type set is not JSON serializable"}),
    ],
)
def test_handler_failure_is_a_200_error_reply_not_a_platform_failure(
    client: FlaskClient, user_app: UserApp, input: Any, error: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    response = post_task(client, input)
    assert response.status_code == 200
    assert response.get_json() == error
    assert any(record.exc_info for record in caplog.records), "the traceback is logged"


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", json.dumps({"omnicloud": {"kind": "scheduled"}, "input": 1}).encode()]
)
def test_a_body_that_is_not_a_task_envelope_is_a_400(client: FlaskClient, user_app: UserApp, body: bytes) -> None:
    response = client.post(TASK_ROUTE, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"] == "InvalidTaskEnvelope"
    assert calls(user_app) == []


def test_only_post_reaches_the_task_route(client: FlaskClient, user_app: UserApp) -> None:
    assert client.get(TASK_ROUTE).status_code == 405
    assert calls(user_app) == []


# --- who may call a public function's task route ------------------------------------------------


def _token(signer: crypt.RSASigner, email: str, audience: str, **overrides: object) -> str:
    now = int(time.time())
    claims = {
        "iss": "https://accounts.google.com",
        "aud": audience,
        "email": email,
        "email_verified": True,
        "sub": "1234567890",
        "iat": now,
        "exp": now + 600,
        **overrides,
    }
    return jwt.encode(signer, claims).decode()


@pytest.fixture
def public(monkeypatch: pytest.MonkeyPatch, certs_and_signer: Any, user_app: UserApp) -> crypt.RSASigner:  # noqa: F811
    signer, certs_url = certs_and_signer
    monkeypatch.setattr(gcp, "GOOGLE_OIDC_CERTS_URL", certs_url)
    monkeypatch.setenv(env.HTTP, "public")
    monkeypatch.setenv(env.TASK_CALLERS, json.dumps([OTHER_WORKFLOW_EMAIL, WORKFLOW_EMAIL]))
    return signer


@pytest.mark.parametrize("audience", [f"https://{HOST}", f"https://{HOST}{TASK_ROUTE}"])
def test_a_listed_workflow_identity_may_call_a_public_function(
    client: FlaskClient, public: crypt.RSASigner, user_app: UserApp, audience: str
) -> None:
    # The compiled workflow names the root URL as audience; Workflows' default is the full URL.
    response = post_task(client, {"qty": 1}, _token(public, WORKFLOW_EMAIL, audience))
    assert response.status_code == 200
    assert calls(user_app) == [{"qty": 1}]


def test_an_unsigned_call_to_a_public_function_is_refused(
    client: FlaskClient, public: crypt.RSASigner, user_app: UserApp
) -> None:
    assert post_task(client, {"qty": 1}).status_code == 403
    assert calls(user_app) == []


@pytest.mark.parametrize(
    ("email", "claims"),
    [
        ("attacker@evil-project.iam.gserviceaccount.com", {}),
        (WORKFLOW_EMAIL, {"aud": "https://some-other-service.a.run.app"}),
        (WORKFLOW_EMAIL, {"iss": "https://evil.example"}),
        (WORKFLOW_EMAIL, {"email_verified": False}),
        (WORKFLOW_EMAIL, {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}),
    ],
)
def test_foreign_or_forged_task_tokens_are_refused(
    client: FlaskClient, public: crypt.RSASigner, user_app: UserApp, email: str, claims: dict[str, Any]
) -> None:
    token = _token(public, email, f"https://{HOST}", **claims)
    assert post_task(client, {"qty": 1}, token).status_code == 403
    assert calls(user_app) == []


def test_a_token_signed_by_another_key_is_refused(
    client: FlaskClient, public: crypt.RSASigner, user_app: UserApp
) -> None:
    private, _ = _key_and_cert()
    stranger = crypt.RSASigner.from_string(private, key_id="test-kid")
    assert post_task(client, {"qty": 1}, _token(stranger, WORKFLOW_EMAIL, f"https://{HOST}")).status_code == 403
    assert calls(user_app) == []


@pytest.mark.parametrize("callers", [None, "", "not json", '{"a": 1}', f'["{WORKFLOW_EMAIL}", 7]'])
def test_without_a_readable_caller_list_nobody_may_call_a_public_function(
    client: FlaskClient,
    public: crypt.RSASigner,
    user_app: UserApp,
    monkeypatch: pytest.MonkeyPatch,
    callers: str | None,
) -> None:
    if callers is None:
        monkeypatch.delenv(env.TASK_CALLERS)
    else:
        monkeypatch.setenv(env.TASK_CALLERS, callers)
    assert post_task(client, {"qty": 1}, _token(public, WORKFLOW_EMAIL, f"https://{HOST}")).status_code == 403
    assert calls(user_app) == []


def test_a_private_function_relies_on_cloud_run_iam(
    client: FlaskClient, user_app: UserApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Cloud Run has checked the token (run.invoker) and stripped its signature before the call.
    monkeypatch.setenv(env.HTTP, "private")
    assert post_task(client, {"qty": 2}).get_json()["output"]["total"] == 10
    assert calls(user_app) == [{"qty": 2}]


def test_task_callers_reads_the_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env.TASK_CALLERS, json.dumps([WORKFLOW_EMAIL]))
    assert gcp.task_callers() == (WORKFLOW_EMAIL,)
