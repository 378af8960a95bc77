"""Function features on every target, for the support matrix."""

from __future__ import annotations

from components import Function, FunctionArgs
from components.testing import MockStack
from tests.contract.conftest import feature

HANDLER = "functions.api.handle"


def _function(matrix, project_root, **args):
    with MockStack(cloud=matrix.target, root=project_root) as stack:
        fn = matrix.build(lambda: Function("fn", FunctionArgs(handler=HANDLER, **args)))
        values = {k: stack.resolve(getattr(fn, k)) for k in ("url", "identity")} if fn else None
    return fn, values


@feature("Function", "public HTTP endpoint")
def test_public_http(matrix, project_root):
    fn, values = _function(matrix, project_root, http="public")
    assert fn is not None and values["url"]
    matrix.supported()


@feature("Function", "private HTTP endpoint (authenticated)")
def test_private_http(matrix, project_root):
    fn, values = _function(matrix, project_root, http="private")
    assert fn is not None and values["url"]
    matrix.stated_gap("function", "private_http")


@feature("Function", "schedule: rate(5 minutes)")
def test_rate_schedule(matrix, project_root):
    fn, _ = _function(matrix, project_root, schedule="rate(5 minutes)")
    if fn is not None:
        matrix.supported()


@feature("Function", "schedule: rate(7 minutes) (not a divisor of an hour)")
def test_odd_rate_schedule(matrix, project_root):
    fn, _ = _function(matrix, project_root, schedule="rate(7 minutes)")
    if fn is not None:
        matrix.supported()


@feature("Function", "schedule: cron restricting day-of-month and day-of-week")
def test_cron_both_day_fields(matrix, project_root):
    fn, _ = _function(matrix, project_root, schedule="cron(0 9 1 * MON)")
    if fn is not None:
        matrix.supported()


@feature("Function", "arm64")
def test_arm64(matrix, project_root):
    fn, _ = _function(matrix, project_root, architecture="arm64")
    if fn is not None:
        matrix.supported()


@feature("Function", "warm instances (min_instances=2)")
def test_min_instances(matrix, project_root):
    fn, _ = _function(matrix, project_root, min_instances=2, max_instances=50, http="public")
    if fn is not None:
        matrix.supported()


@feature("Function", "secrets kept secret in state")
def test_secrets(matrix, project_root):
    with MockStack(cloud=matrix.target, root=project_root) as stack:
        Function("fn", FunctionArgs(handler=HANDLER, secrets={"TOKEN": "s3cret-value"}))
    holders = [r for r in stack.resources if "s3cret-value" in repr(r.inputs)]
    assert all({k for k in r.inputs if "s3cret-value" in repr(r.inputs[k])} <= r.secret_inputs for r in holders)
    matrix.supported()


@feature("Function", "15-minute invocations (timeout_s=900)")
def test_long_timeout(matrix, project_root):
    fn, _ = _function(matrix, project_root, timeout_s=900)
    if fn is not None:
        matrix.supported()


@feature("Function", "15-minute HTTP requests")
def test_long_http(matrix, project_root):
    fn, _ = _function(matrix, project_root, timeout_s=900, http="public")
    if fn is not None:
        matrix.supported()
