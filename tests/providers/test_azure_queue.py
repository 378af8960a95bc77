"""Queue on Azure: the Service Bus namespaces and queue, the trigger wiring and grants (mocked)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components import Function, FunctionArgs, Queue, QueueArgs
from components.errors import InvalidArgsError
from components.testing import MockStack, RecordedResource, assert_props
from providers.azure.queue import AzureQueueResources, iso_duration
from providers.azure.roles import BUILT_IN_ROLES
from providers.azure.stack import namespace_logical_name

NAMESPACE = "azure-native:servicebus:Namespace"
QUEUE = "azure-native:servicebus:Queue"
APP = "azure-native:web:WebApp"
ROLE = "azure-native:authorization:RoleAssignment"
STACK_COMPONENT = "omnicloud:azure:StackResources"
HANDLER = "functions.api.handle"


def _settings(app: RecordedResource) -> dict[str, Any]:
    return {pair["name"]: pair["value"] for pair in app.inputs["siteConfig"]["appSettings"]}


def _app(stack: MockStack, name: str) -> RecordedResource:
    return next(r for r in stack.find(APP) if r.name == name)


def _role_guid(assignment: RecordedResource) -> str:
    return assignment.inputs["roleDefinitionId"].rsplit("/", 1)[-1]


def _namespace(stack: MockStack, tier: str) -> RecordedResource:
    """The stack's one namespace of that tier ("Basic" or "Standard")."""
    found = [ns for ns in stack.find(NAMESPACE) if ns.inputs["sku"]["tier"] == tier]
    assert len(found) == 1, [ns.inputs["sku"] for ns in stack.find(NAMESPACE)]
    return found[0]


def _queue(stack: MockStack, name: str) -> RecordedResource:
    return next(q for q in stack.find(QUEUE) if q.name == name)


def _fqdn(namespace: RecordedResource) -> str:
    return f"{namespace.outputs['name']}.servicebus.windows.net"


# -- the namespace ----------------------------------------------------------------------------


def test_no_namespace_is_created_until_a_queue_needs_one(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Function("api", FunctionArgs(handler=HANDLER))
        assert stack.find(NAMESPACE) == []


def test_non_fifo_queues_share_one_basic_entra_only_namespace_and_no_standard_one(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Queue("jobs")
        Queue("mails")
        namespace = stack.one(NAMESPACE)
        shared = stack.one(STACK_COMPONENT)
    assert namespace.parent == shared.urn
    assert namespace.name == namespace_logical_name(stack.project, stack.stack, "Basic")
    # Basic: billed per operation, no base charge, so an idle app costs nothing.
    assert_props(
        namespace,
        {
            "sku": {"name": "Basic", "tier": "Basic"},
            "disableLocalAuth": True,
            "minimumTlsVersion": "1.2",
        },
    )
    assert {q.inputs["namespaceName"] for q in stack.find(QUEUE)} == {namespace.outputs["name"]}


def test_fifo_queues_share_one_standard_entra_only_namespace_with_sessions(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Queue("orders", QueueArgs(fifo=True))
        Queue("payments", QueueArgs(fifo=True))
        namespace = stack.one(NAMESPACE)
        shared = stack.one(STACK_COMPONENT)
    assert namespace.parent == shared.urn
    # The logical name the stack's single (Standard) namespace always had: FIFO queues stay put.
    assert namespace.name == namespace_logical_name(stack.project, stack.stack)
    assert_props(
        namespace,
        {
            "sku": {"name": "Standard", "tier": "Standard"},
            "disableLocalAuth": True,
            "minimumTlsVersion": "1.2",
        },
    )
    for queue in stack.find(QUEUE):
        assert queue.inputs["namespaceName"] == namespace.outputs["name"]
        assert_props(queue, {"requiresSession": True, "requiresDuplicateDetection": True})


def test_an_app_with_both_kinds_gets_two_namespaces_and_each_queue_goes_to_its_own(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Queue("jobs")
        Queue("orders", QueueArgs(fifo=True))
        Queue("mails")
        basic, standard = _namespace(stack, "Basic"), _namespace(stack, "Standard")
        jobs, orders, mails = _queue(stack, "jobs"), _queue(stack, "orders"), _queue(stack, "mails")
    assert len(stack.find(NAMESPACE)) == 2
    assert basic.name != standard.name
    assert jobs.inputs["namespaceName"] == mails.inputs["namespaceName"] == basic.outputs["name"]
    assert orders.inputs["namespaceName"] == standard.outputs["name"]


def test_the_standard_namespace_is_created_lazily_by_the_first_fifo_queue(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Queue("jobs")
        assert [ns.inputs["sku"]["tier"] for ns in stack.find(NAMESPACE)] == ["Basic"]
        Queue("orders", QueueArgs(fifo=True))
        assert sorted(ns.inputs["sku"]["tier"] for ns in stack.find(NAMESPACE)) == ["Basic", "Standard"]


def test_an_app_with_only_fifo_queues_gets_no_basic_namespace(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Queue("orders", QueueArgs(fifo=True))
        assert [ns.inputs["sku"]["tier"] for ns in stack.find(NAMESPACE)] == ["Standard"]


def test_namespace_logical_names_differ_by_tier_and_fit_the_auto_name_suffix() -> None:
    basic = namespace_logical_name("My_Project", "prod", "Basic")
    standard = namespace_logical_name("My_Project", "prod", "Standard")
    assert (basic, standard) == ("sb-basic-my-project-prod", "sb-my-project-prod")
    long = namespace_logical_name("p" * 80, "s" * 80, "Basic")
    assert len(long) <= 42 and long.startswith("sb-basic-")


# -- the queue --------------------------------------------------------------------------------


def test_queue_settings_come_from_the_portable_arguments(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(visibility_timeout_s=90, max_receive_count=7, retention_s=2 * 86400))
        queue = stack.one(QUEUE)
        component = stack.one("omnicloud:index:Queue", "jobs")
    assert queue.parent == component.urn
    assert_props(
        queue,
        {
            "lockDuration": "PT1M30S",
            "maxDeliveryCount": 7,
            "defaultMessageTimeToLive": "P2D",
            "deadLetteringOnMessageExpiration": True,
        },
    )
    # A Basic namespace refuses the Standard-only properties, even set to false.
    for standard_only in ("requiresSession", "requiresDuplicateDetection", "duplicateDetectionHistoryTimeWindow"):
        assert standard_only not in queue.inputs
    assert isinstance(jobs.resources, AzureQueueResources)
    assert jobs.resources.service_bus.tier == "Basic"


def test_fifo_queues_use_sessions_and_five_minute_duplicate_detection(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        orders = Queue("orders", QueueArgs(fifo=True))
        queue = stack.one(QUEUE)
    assert_props(
        queue,
        {
            "requiresSession": True,
            "requiresDuplicateDetection": True,
            "duplicateDetectionHistoryTimeWindow": "PT5M",
        },
    )
    assert orders.resources.service_bus.tier == "Standard"


def test_outputs_and_locator_name_the_entity_and_its_dead_letter_sub_queue(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(fifo=True, delay_s=30))
        resource_id, dead_letter, locator = (
            stack.resolve(jobs.resource_id),
            stack.resolve(jobs.dead_letter),
            stack.resolve(jobs.locator),
        )
        queue = stack.one(QUEUE)
        namespace = stack.one(NAMESPACE)
    assert resource_id == queue.outputs["id"]
    assert dead_letter == resource_id + "/$DeadLetterQueue"
    assert locator == {
        "kind": "queue",
        "cloud": "azure",
        "name": "jobs",
        "namespace": _fqdn(namespace),
        "queue": queue.outputs["name"],
        "fifo": True,
        "delay_s": 30,
    }


def test_each_locator_names_its_own_queues_namespace(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        jobs = Queue("jobs")
        orders = Queue("orders", QueueArgs(fifo=True))
        jobs_locator, orders_locator = stack.resolve(jobs.locator), stack.resolve(orders.locator)
        basic, standard = _namespace(stack, "Basic"), _namespace(stack, "Standard")
    assert jobs_locator["namespace"] == _fqdn(basic)
    assert orders_locator["namespace"] == _fqdn(standard)
    assert (jobs_locator["fifo"], orders_locator["fifo"]) == (False, True)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "PT0S"),
        (5, "PT5S"),
        (60, "PT1M"),
        (90, "PT1M30S"),
        (300, "PT5M"),
        (3600, "PT1H"),
        (86400, "P1D"),
        (4 * 86400, "P4D"),
        (86400 + 61, "P1DT1M1S"),
    ],
)
def test_durations_are_written_the_way_service_bus_stores_them(seconds: int, expected: str) -> None:
    assert iso_duration(seconds) == expected


@pytest.mark.parametrize(
    ("args", "field", "limit"),
    [
        ({"visibility_timeout_s": 4}, "visibility_timeout_s", "5-300 s"),
        ({"visibility_timeout_s": 301}, "visibility_timeout_s", "5-300 s"),
        ({"max_receive_count": 2001}, "max_receive_count", "1-2000"),
        ({"max_message_kb": 257}, "max_message_kb", "256 KB"),
        ({"fifo": True, "max_message_kb": 257}, "max_message_kb", "256 KB"),
        ({"retention_s": 14 * 86400 + 1}, "retention_s", "14 days"),
        ({"overrides": {"azure": {"requires_session": True}}}, "overrides.azure.requires_session", "Basic tier"),
        (
            {"overrides": {"azure": {"requires_duplicate_detection": False}}},
            "overrides.azure.requires_duplicate_detection",
            "Basic tier",
        ),
        (
            {"overrides": {"azure": {"auto_delete_on_idle": "PT1H"}}},
            "overrides.azure.auto_delete_on_idle",
            "Basic tier",
        ),
        ({"overrides": {"azure": {"forward_to": "other"}}}, "overrides.azure.forward_to", "Basic tier"),
        (
            {"overrides": {"azure": {"forward_dead_lettered_messages_to": "other"}}},
            "overrides.azure.forward_dead_lettered_messages_to",
            "Basic tier",
        ),
        ({"overrides": {"azure": {"enable_express": True}}}, "overrides.azure.enable_express", "Basic tier"),
        ({"overrides": {"azure": {"no_such_property": 1}}}, "overrides.azure.no_such_property", "not a property"),
    ],
)
def test_service_bus_limits_fail_before_anything_is_registered(
    project_root: Path, args: dict[str, Any], field: str, limit: str
) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        with pytest.raises(InvalidArgsError) as caught:
            Queue("jobs", QueueArgs(**args))
        assert stack.resources == []
    assert caught.value.field == field
    assert caught.value.cloud == "azure"
    assert limit in caught.value.limit


@pytest.mark.parametrize("name", ["-jobs", "jobs/now", "j" * 253])
def test_names_service_bus_rejects_fail_before_deploy(project_root: Path, name: str) -> None:
    with MockStack(cloud="azure", root=project_root), pytest.raises(InvalidArgsError, match="Service Bus queue"):
        Queue(name)


def test_fifo_queues_may_keep_messages_longer_and_take_standard_only_overrides(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Queue(
            "orders",
            QueueArgs(
                fifo=True,
                retention_s=30 * 86400,
                overrides={"azure": {"auto_delete_on_idle": "P30D"}},
            ),
        )
        assert_props(stack.one(QUEUE), {"defaultMessageTimeToLive": "P30D", "autoDeleteOnIdle": "P30D"})


def test_a_non_fifo_queue_may_keep_messages_the_full_fourteen_days_basic_allows(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Queue("jobs", QueueArgs(retention_s=14 * 86400))
        assert_props(stack.one(QUEUE), {"defaultMessageTimeToLive": "P14D"})


def test_overrides_merge_into_the_queue(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Queue("jobs", QueueArgs(overrides={"azure": {"max_size_in_megabytes": 2048}}))
        assert_props(stack.one(QUEUE), {"maxSizeInMegabytes": 2048, "deadLetteringOnMessageExpiration": True})


# -- subscribe --------------------------------------------------------------------------------


def test_subscribe_adds_a_trigger_descriptor_and_the_identity_connection(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        jobs = Queue("jobs")
        worker = Function("worker", FunctionArgs(handler=HANDLER))
        jobs.subscribe(worker, batch_size=25)
        settings = _settings(_app(stack, "worker"))
        queue = stack.one(QUEUE)
        fqdn = _fqdn(_namespace(stack, "Basic"))
    assert json.loads(settings["OMNICLOUD_TRIGGERS"]) == [
        {
            "kind": "queue",
            "name": "jobs",
            "queue": queue.outputs["name"],
            "fifo": False,
            "batch_size": 25,
            "namespace": fqdn,
            "connection": "OMNICLOUD_SB",
        }
    ]
    assert settings["OMNICLOUD_SB__fullyQualifiedNamespace"] == fqdn


def test_a_fifo_trigger_points_at_the_standard_namespace_under_its_own_connection(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Queue("jobs")
        orders = Queue("orders", QueueArgs(fifo=True))
        worker = Function("worker", FunctionArgs(handler=HANDLER))
        orders.subscribe(worker, batch_size=25)
        settings = _settings(_app(stack, "worker"))
        queue = _queue(stack, "orders")
        fqdn = _fqdn(_namespace(stack, "Standard"))
    assert json.loads(settings["OMNICLOUD_TRIGGERS"]) == [
        {
            "kind": "queue",
            "name": "orders",
            "queue": queue.outputs["name"],
            "fifo": True,
            "batch_size": 25,
            "namespace": fqdn,
            "connection": "OMNICLOUD_SB_FIFO",
        }
    ]
    # The connection setting the function provider writes for it names the Standard namespace.
    connections = {k: v for k, v in settings.items() if k.endswith("__fullyQualifiedNamespace")}
    assert connections == {"OMNICLOUD_SB_FIFO__fullyQualifiedNamespace": fqdn}


def test_one_function_may_consume_several_queues_of_one_namespace(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        jobs, mails = Queue("jobs"), Queue("mails")
        worker = Function("worker", FunctionArgs(handler=HANDLER))
        jobs.subscribe(worker)
        mails.subscribe(worker)
        triggers = json.loads(_settings(_app(stack, "worker"))["OMNICLOUD_TRIGGERS"])
        fqdn = _fqdn(_namespace(stack, "Basic"))
    assert {(t["name"], t["namespace"], t["connection"]) for t in triggers} == {
        ("jobs", fqdn, "OMNICLOUD_SB"),
        ("mails", fqdn, "OMNICLOUD_SB"),
    }


def test_one_function_may_consume_queues_of_both_namespaces(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        jobs, orders = Queue("jobs"), Queue("orders", QueueArgs(fifo=True))
        worker = Function("worker", FunctionArgs(handler=HANDLER))
        jobs.subscribe(worker)
        orders.subscribe(worker)
        settings = _settings(_app(stack, "worker"))
        basic, standard = _fqdn(_namespace(stack, "Basic")), _fqdn(_namespace(stack, "Standard"))
        assert len(stack.find(ROLE, "worker-on-queue-orders")) == 1
    # Each trigger binds its own namespace's connection, and both settings are written.
    assert settings["OMNICLOUD_SB__fullyQualifiedNamespace"] == basic
    assert settings["OMNICLOUD_SB_FIFO__fullyQualifiedNamespace"] == standard


def test_a_function_without_triggers_gets_an_empty_trigger_list_and_no_connections(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Queue("jobs")
        Function("api", FunctionArgs(handler=HANDLER))
        settings = _settings(stack.one(APP))
    assert settings["OMNICLOUD_TRIGGERS"] == "[]"
    assert not any(name.startswith(("OMNICLOUD_SB__", "OMNICLOUD_COSMOS__")) for name in settings)


def test_the_trigger_grants_data_receiver_on_this_queue_only(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        jobs = Queue("jobs")
        Queue("other")
        worker = Function("worker", FunctionArgs(handler=HANDLER))
        jobs.subscribe(worker)
        assignment = stack.one(ROLE, "worker-on-queue-jobs")
        queue = next(q for q in stack.find(QUEUE) if q.name == "jobs")
        principal = _app(stack, "worker").outputs["identity"]["principalId"]
        component = stack.one("omnicloud:index:Queue", "jobs")
    assert assignment.parent == component.urn
    assert_props(
        assignment,
        {
            "principalId": principal,
            "principalType": "ServicePrincipal",
            "scope": queue.outputs["id"],
        },
    )
    assert _role_guid(assignment) == BUILT_IN_ROLES["Azure Service Bus Data Receiver"]
    assert "triggered by Queue 'jobs'" in assignment.inputs["description"]


@pytest.mark.parametrize(
    ("options", "field", "limit"),
    [
        ({"batch_size": 1001}, "batch_size", "1-1000"),
        ({"max_batching_window_s": 5}, "max_batching_window_s", "no per-function batching window"),
    ],
)
def test_trigger_options_service_bus_cannot_honour_fail_before_any_grant(
    project_root: Path, options: dict[str, int], field: str, limit: str
) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        jobs = Queue("jobs")
        worker = Function("worker", FunctionArgs(handler=HANDLER))
        with pytest.raises(InvalidArgsError) as caught:
            jobs.subscribe(worker, **options)
        assert [r.name for r in stack.find(ROLE)] == ["worker-host-storage"]
    assert caught.value.field == field
    assert limit in caught.value.limit


# -- links ------------------------------------------------------------------------------------


def test_send_and_receive_links_grant_sender_and_receiver_at_the_queue(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        jobs = Queue("jobs")
        api = Function("api", FunctionArgs(handler=HANDLER, links=[jobs.allow("send", "receive")]))
        send = stack.one(ROLE, "api-queue-jobs-send")
        receive = stack.one(ROLE, "api-queue-jobs-receive")
        queue_id = stack.one(QUEUE).outputs["id"]
        settings = _settings(stack.one(APP))
        locator = stack.resolve(jobs.locator)
        component = stack.one("omnicloud:index:Function", "api")
        principal = stack.resolve(api.identity)
    assert _role_guid(send) == BUILT_IN_ROLES["Azure Service Bus Data Sender"]
    assert _role_guid(receive) == BUILT_IN_ROLES["Azure Service Bus Data Receiver"]
    for assignment in (send, receive):
        assert assignment.inputs["scope"] == queue_id
        assert assignment.inputs["principalId"] == principal
        assert assignment.parent == component.urn
    assert json.loads(settings["OMNICLOUD_LINK_QUEUE_JOBS"]) == locator
