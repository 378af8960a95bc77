"""The Function contract, identical on every target: output names and shapes, errors."""

from __future__ import annotations

import dataclasses

import pulumi
import pytest

from components import Function, FunctionArgs
from components.errors import InvalidArgsError
from components.testing import MockStack

TARGETS = ["aws", "azure", "gcp", "local"]
CLOUDS = ["aws", "azure", "gcp"]


@pytest.mark.parametrize("cloud", TARGETS)
@pytest.mark.parametrize("http", [None, "public", "private"])
def test_outputs_have_the_same_names_and_shapes_everywhere(project_root, cloud, http):
    with MockStack(cloud=cloud, root=project_root) as stack:
        fn = Function("api", FunctionArgs(handler="functions.api.handle", http=http))
        values = {k: stack.resolve(getattr(fn, k)) for k in ("name", "resource_id", "url", "identity")}
    for key in ("name", "resource_id", "identity"):
        assert isinstance(values[key], str) and values[key], key
    if http is None:
        assert values["url"] is None
    else:
        scheme = "http://127.0.0.1" if cloud == "local" else "https://"
        assert values["url"].startswith(scheme)
    assert dataclasses.is_dataclass(fn.resources)
    component = stack.one("omnicloud:index:Function", "api")
    # The engine drops null outputs, so `url` is recorded only when there is one.
    expected = {"name", "resource_id", "identity"} | ({"url"} if http else set())
    assert set(component.outputs) == expected


@pytest.mark.parametrize("cloud", CLOUDS)
def test_every_child_resource_is_parented_under_the_component_or_shared(project_root, cloud):
    with MockStack(cloud=cloud, root=project_root) as stack:
        Function("api", FunctionArgs(handler="functions.api.handle", http="public", schedule="rate(1 day)"))
    component = stack.one("omnicloud:index:Function", "api")
    descendants = {r.urn for r in stack.descendants(component)}
    for resource in stack.resources:
        if resource.urn == component.urn or resource.urn in descendants:
            continue
        # Only per-stack shared infrastructure may live outside the function's tree.
        assert resource.type.startswith("omnicloud:") or _under_shared(stack, resource), resource.type


def _under_shared(stack: MockStack, resource) -> bool:
    parents = {r.urn: r for r in stack.resources}
    parent = parents.get(resource.parent or "")
    return parent is not None and parent.type.startswith("omnicloud:") and parent.type != "omnicloud:index:Function"


@pytest.mark.parametrize("cloud", CLOUDS)
def test_secrets_stay_secret_in_every_resource_that_holds_them(project_root, cloud):
    with MockStack(cloud=cloud, root=project_root) as stack:
        Function("api", FunctionArgs(handler="functions.api.handle", secrets={"API_TOKEN": "s3cret-value"}))
    holders = [r for r in stack.resources if "s3cret-value" in repr(r.inputs)]
    assert holders, "the secret value should reach the cloud somewhere"
    for resource in holders:
        leaking = [k for k in resource.inputs if "s3cret-value" in repr(resource.inputs[k])]
        assert set(leaking) <= resource.secret_inputs, (resource.type, leaking)


@pytest.mark.parametrize("cloud", TARGETS)
def test_a_missing_handler_module_fails_before_anything_is_registered(project_root, cloud):
    with MockStack(cloud=cloud, root=project_root) as stack:
        with pytest.raises(InvalidArgsError, match=r"functions\.nope"):
            Function("api", FunctionArgs(handler="functions.nope.handle"))
        assert stack.resources == []


OUT_OF_RANGE = [("memory_mb", 100_000), ("timeout_s", 100_000), ("log_retention_days", 100_000)]


@pytest.mark.parametrize(
    ("cloud", "field", "value"),
    [(cloud, field, value) for cloud in CLOUDS for field, value in OUT_OF_RANGE]
    # arm64 is AWS's default; Azure Flex and Cloud Functions run x86_64 only.
    + [("azure", "architecture", "arm64"), ("gcp", "architecture", "arm64")],
)
def test_out_of_range_args_fail_with_the_cloud_and_limit_named(project_root, cloud, field, value):
    with MockStack(cloud=cloud, root=project_root) as stack:
        with pytest.raises(InvalidArgsError) as raised:
            Function("api", {"handler": "functions.api.handle", field: value})
        assert stack.resources == []
    error = raised.value
    assert (error.component, error.field, error.value, error.cloud) == ("Function 'api'", field, value, cloud)
    assert f"on {cloud}" in str(error)


@pytest.mark.parametrize("cloud", TARGETS)
def test_overrides_for_another_cloud_are_ignored(project_root, cloud):
    other = "gcp" if cloud != "gcp" else "aws"
    with MockStack(cloud=cloud, root=project_root):
        fn = Function("api", FunctionArgs(handler="functions.api.handle", overrides={other: {"no_such": 1}}))
    assert fn.cloud == cloud


def test_output_of_a_secret_env_value_is_accepted(project_root):
    with MockStack(cloud="aws", root=project_root) as stack:
        Function("api", FunctionArgs(handler="functions.api.handle", secrets={"T": pulumi.Output.secret("x")}))
    assert "environment" in stack.one("aws:lambda/function:Function").secret_inputs
