"""Queue, EventBus and Table wiring that does not depend on a cloud, checked on the local target."""

from __future__ import annotations

import json

import pytest

from components import EventBus, Function, FunctionArgs, Queue, QueueArgs, Table, TableArgs
from components.errors import InvalidArgsError
from components.links import link_env_name
from components.testing import MockStack


def _app(project_root, cloud="local"):
    orders = Table("orders", TableArgs(partition_key="pk", sort_key="sk", key_types={"sk": "number"}))
    jobs = Queue("jobs", QueueArgs(max_receive_count=3))
    events = EventBus("events")
    api = Function(
        "api",
        FunctionArgs(
            handler="functions.api.handle",
            http="public",
            links=[orders.allow("read", "write"), jobs.allow("send"), events.allow("publish")],
        ),
    )
    worker = Function("worker", FunctionArgs(handler="functions.api.handle"))
    jobs.subscribe(worker, batch_size=5)
    events.subscribe("on-order", worker, pattern={"type": ["order.created"]})
    orders.on_change(worker)
    return orders, jobs, events, api, worker


def test_links_inject_one_locator_variable_per_linked_component(project_root):
    with MockStack(cloud="local", root=project_root) as stack:
        _, _, _, api, _ = _app(project_root)
        env = stack.resolve(api.resources.environment[link_env_name("table", "orders")])
    locator = json.loads(env)
    assert locator["kind"] == "table" and locator["cloud"] == "local"
    assert locator["partition_key"] == "pk" and locator["key_types"] == {"pk": "string", "sk": "number"}
    assert set(api.resources.environment) >= {
        "OMNICLOUD_LINK_TABLE_ORDERS",
        "OMNICLOUD_LINK_QUEUE_JOBS",
        "OMNICLOUD_LINK_BUS_EVENTS",
    }


def test_triggers_reach_the_subscribed_function_after_the_program_body(project_root):
    with MockStack(cloud="local", root=project_root) as stack:
        _, _, _, _, worker = _app(project_root)
        triggers = json.loads(stack.resolve(worker.resources.environment["OMNICLOUD_TRIGGERS"]))
    kinds = sorted((t["kind"], t["name"]) for t in triggers)
    assert kinds == [("bus", "events"), ("queue", "jobs"), ("table", "orders")]
    assert next(t for t in triggers if t["kind"] == "bus")["pattern"] == {"type": ["order.created"]}


def test_subscribing_after_outputs_were_awaited_fails_loudly(project_root):
    with MockStack(cloud="local", root=project_root) as stack:
        jobs = Queue("jobs")
        worker = Function("worker", FunctionArgs(handler="functions.api.handle"))
        stack.resolve(worker.resources.environment["OMNICLOUD_TRIGGERS"])
        with pytest.raises(RuntimeError, match="already sent to the engine"):
            jobs.subscribe(worker)


def test_allow_rejects_unknown_verbs_naming_the_valid_ones(project_root):
    with MockStack(cloud="local", root=project_root):
        jobs = Queue("jobs")
        with pytest.raises(InvalidArgsError, match=r"verbs are \('send', 'receive'\)"):
            jobs.allow("publish")
        with pytest.raises(InvalidArgsError, match="at least one"):
            jobs.allow()


def test_a_component_linked_twice_is_rejected(project_root):
    with MockStack(cloud="local", root=project_root):
        jobs = Queue("jobs")
        links = [jobs.allow("send"), jobs.allow("receive")]
        # FunctionArgs built directly: pydantic's own error (a ValueError) names field and value.
        with pytest.raises(ValueError, match="linked twice"):
            FunctionArgs(handler="functions.api.handle", links=links)
        # Built from a dict by the component: the error also names the component.
        with pytest.raises(InvalidArgsError, match=r"Function 'api': links=.*linked twice"):
            Function("api", {"handler": "functions.api.handle", "links": links})


def test_wiring_across_clouds_is_rejected_before_registering(project_root):
    with MockStack(cloud="local", root=project_root) as stack:
        jobs = Queue("jobs")
        worker = Function("worker", FunctionArgs(handler="functions.api.handle"), cloud="aws")
        count = len(stack.resources)
        with pytest.raises(InvalidArgsError, match="on aws, this is on local"):
            jobs.subscribe(worker)
        with pytest.raises(InvalidArgsError, match="links must stay on aws"):
            Function("api", FunctionArgs(handler="functions.api.handle", links=[jobs.allow("send")]), cloud="aws")
        assert len(stack.resources) == count


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda bus, fn: bus.subscribe("On Order", fn), "lowercase letters"),
        (lambda bus, fn: bus.subscribe("x", fn, pattern={"kind": ["a"]}), "only source, type, subject"),
        (lambda bus, fn: bus.subscribe("x", "not-a-target"), "a Function or a Queue"),
        (lambda bus, fn: bus.subscribe("x", fn, max_retries=500), "0-185"),
    ],
)
def test_bad_bus_subscriptions_fail_with_the_reason(project_root, call, match):
    with MockStack(cloud="local", root=project_root):
        bus = EventBus("events")
        fn = Function("worker", FunctionArgs(handler="functions.api.handle"))
        with pytest.raises(InvalidArgsError, match=match):
            call(bus, fn)


def test_duplicate_subscription_names_are_rejected(project_root):
    with MockStack(cloud="local", root=project_root):
        bus = EventBus("events")
        fn = Function("worker", FunctionArgs(handler="functions.api.handle"))
        bus.subscribe("on-order", fn)
        with pytest.raises(InvalidArgsError, match="already subscribed"):
            bus.subscribe("on-order", fn)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ({"partition_key": "1pk"}, "attribute names"),
        ({"partition_key": "pk", "key_types": {"other": "number"}}, "not key attributes"),
        ({"partition_key": "pk", "ttl_attribute": "pk"}, "TTL attribute cannot be a key"),
        (
            {
                "partition_key": "pk",
                "indexes": [{"name": "a", "partition_key": "x"}, {"name": "a", "partition_key": "y"}],
            },
            "unique",
        ),
        ({"partition_key": "pk", "indexes": [{"name": "By Customer", "partition_key": "x"}]}, "lowercase"),
    ],
)
def test_bad_table_args_fail_before_registering(project_root, args, match):
    with MockStack(cloud="local", root=project_root) as stack:
        with pytest.raises(InvalidArgsError, match=match):
            Table("orders", args)
        assert stack.resources == []
