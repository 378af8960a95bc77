"""components.testing: the public mocks harness behaves as documented."""

from __future__ import annotations

import asyncio

import pulumi
import pytest

from components import Function, FunctionArgs
from components.testing import MockStack, UnmockedCallError, assert_props


class _Probe(pulumi.CustomResource):
    def __init__(self, name: str, props: dict) -> None:
        super().__init__("test:index:Probe", name, props)


def test_each_stack_gets_a_fresh_event_loop_and_no_leftover_resources():
    with MockStack(cloud="local") as first:
        _Probe("a", {"x": 1})
        loop_one = asyncio.get_event_loop()
    with MockStack(cloud="local") as second:
        _Probe("b", {"x": 2})
        loop_two = asyncio.get_event_loop()
    assert loop_one is not loop_two
    assert [r.name for r in first.resources] == ["a"]
    assert [r.name for r in second.resources] == ["b"]


def test_config_is_per_stack():
    with MockStack(cloud="aws", config={"app:size": "7"}):
        assert pulumi.Config("app").get_int("size") == 7
        assert pulumi.Config("aws").get("region") == "us-east-1"
    with MockStack(cloud="gcp"):
        assert pulumi.Config("app").get("size") is None


def test_unmocked_invoke_fails_loudly_and_mocked_one_answers():
    with pytest.raises(UnmockedCallError, match="pass calls="), MockStack(cloud="local"):
        pulumi.runtime.invoke("test:index:lookup", {"q": 1}).value  # noqa: B018
    with MockStack(cloud="local", calls={"test:index:lookup": lambda args: {"answer": args["q"] + 1}}):
        result = pulumi.runtime.invoke("test:index:lookup", {"q": 1})
        assert result.value == {"answer": 2}
    assert issubclass(UnmockedCallError, RuntimeError)


def test_assert_props_passes_on_a_subset_and_reports_the_path_on_mismatch():
    with MockStack(cloud="local") as stack:
        _Probe("p", {"outer": {"inner": "v", "other": 1}, "items": [{"k": 1, "j": 2}]})
    probe = stack.one("test:index:Probe")
    assert_props(probe, {"outer": {"inner": "v"}, "items": [{"k": 1}]})
    with pytest.raises(AssertionError, match=r"outer\.inner: expected 'w'"):
        assert_props(probe, {"outer": {"inner": "w"}})
    with pytest.raises(AssertionError, match="missing"):
        assert_props(probe, {"absent": 1})


def test_secret_inputs_are_recorded_and_unwrapped():
    with MockStack(cloud="local") as stack:
        _Probe("p", {"token": pulumi.Output.secret("s3cret"), "plain": "x"})
    probe = stack.one("test:index:Probe")
    assert probe.secret_inputs == frozenset({"token"})
    assert probe.inputs["token"] == "s3cret"


def test_one_fails_with_the_types_that_were_registered():
    with MockStack(cloud="local") as stack:
        _Probe("p", {})
    with pytest.raises(AssertionError, match="test:index:Probe"):
        stack.one("aws:lambda/function:Function")


def test_component_outputs_resolve_inside_the_stack(project_root):
    with MockStack(cloud="local", root=project_root) as stack:
        fn = Function("api", FunctionArgs(handler="functions.api.handle", http="public"))
        assert stack.resolve(fn.url) == "http://127.0.0.1:8787/api/"
    component = stack.one("omnicloud:index:Function", "api")
    assert component.outputs["url"] == "http://127.0.0.1:8787/api/"
