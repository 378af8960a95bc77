"""Queue on Azure: the Service Bus namespace and queue, the trigger wiring and grants (mocked)."""

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


# -- the namespace ----------------------------------------------------------------------------


def test_no_namespace_is_created_until_a_queue_needs_one(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Function("api", FunctionArgs(handler=HANDLER))
        assert stack.find(NAMESPACE) == []


def test_queues_of_a_stack_share_one_standard_entra_only_namespace(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Queue("jobs")
        Queue("mails")
        namespace = stack.one(NAMESPACE)
        shared = stack.one(STACK_COMPONENT)
    assert namespace.parent == shared.urn
    assert_props(namespace, {
        "sku": {"name": "Standard", "tier": "Standard"},
        "disableLocalAuth": True,
        "minimumTlsVersion": "1.2",
    })
    assert {q.inputs["namespaceName"] for q in stack.find(QUEUE)} == {namespace.outputs["name"]}


# -- the queue --------------------------------------------------------------------------------


def test_queue_settings_come_from_the_portable_arguments(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(visibility_timeout_s=90, max_receive_count=7, retention_s=2 * 86400))
        queue = stack.one(QUEUE)
        component = stack.one("omnicloud:index:Queue", "jobs")
    assert queue.parent == component.urn
    assert_props(queue, {
        "lockDuration": "PT1M30S",
        "maxDeliveryCount": 7,
        "defaultMessageTimeToLive": "P2D",
        "deadLetteringOnMessageExpiration": True,
        "requiresSession": False,
        "requiresDuplicateDetection": False,
    })
    assert "duplicateDetectionHistoryTimeWindow" not in queue.inputs
    assert isinstance(jobs.resources, AzureQueueResources)


def test_fifo_queues_use_sessions_and_five_minute_duplicate_detection(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Queue("orders", QueueArgs(fifo=True))
        queue = stack.one(QUEUE)
    assert_props(queue, {
        "requiresSession": True,
        "requiresDuplicateDetection": True,
        "duplicateDetectionHistoryTimeWindow": "PT5M",
    })


def test_outputs_and_locator_name_the_entity_and_its_dead_letter_sub_queue(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(fifo=True, delay_s=30))
        resource_id, dead_letter, locator = stack.resolve(jobs.resource_id), stack.resolve(jobs.dead_letter), \
            stack.resolve(jobs.locator)
        queue = stack.one(QUEUE)
        namespace = stack.one(NAMESPACE)
    assert resource_id == queue.outputs["id"]
    assert dead_letter == resource_id + "/$DeadLetterQueue"
    assert locator == {
        "kind": "queue",
        "cloud": "azure",
        "name": "jobs",
        "namespace": f"{namespace.outputs['name']}.servicebus.windows.net",
        "queue": queue.outputs["name"],
        "fifo": True,
        "delay_s": 30,
    }


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, "PT0S"), (5, "PT5S"), (60, "PT1M"), (90, "PT1M30S"), (300, "PT5M"), (3600, "PT1H"),
     (86400, "P1D"), (4 * 86400, "P4D"), (86400 + 61, "P1DT1M1S")],
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


def test_overrides_merge_into_the_queue(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Queue("jobs", QueueArgs(overrides={"azure": {"max_size_in_megabytes": 2048}}))
        assert_props(stack.one(QUEUE), {"maxSizeInMegabytes": 2048, "deadLetteringOnMessageExpiration": True})


# -- subscribe --------------------------------------------------------------------------------


def test_subscribe_adds_a_trigger_descriptor_and_the_identity_connection(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(fifo=True))
        worker = Function("worker", FunctionArgs(handler=HANDLER))
        jobs.subscribe(worker, batch_size=25)
        settings = _settings(_app(stack, "worker"))
        queue = stack.one(QUEUE)
        namespace = stack.one(NAMESPACE)
    fqdn = f"{namespace.outputs['name']}.servicebus.windows.net"
    assert json.loads(settings["OMNICLOUD_TRIGGERS"]) == [{
        "kind": "queue",
        "name": "jobs",
        "queue": queue.outputs["name"],
        "fifo": True,
        "batch_size": 25,
        "namespace": fqdn,
    }]
    assert settings["OMNICLOUD_SB__fullyQualifiedNamespace"] == fqdn


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
    assert_props(assignment, {
        "principalId": principal,
        "principalType": "ServicePrincipal",
        "scope": queue.outputs["id"],
    })
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

