"""EventBus on Azure: the Event Grid topic, its subscriptions, dead letters and grants (mocked)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components import EventBus, EventBusArgs, Function, FunctionArgs, Queue, QueueArgs
from components.errors import InvalidArgsError
from components.testing import MockStack, RecordedResource, assert_props
from providers.azure.event_bus import AzureBusSubscription, bus_function_name
from providers.azure.roles import BUILT_IN_ROLES

TOPIC = "azure-native:eventgrid:Topic"
SUBSCRIPTION = "azure-native:eventgrid:EventSubscription"
QUEUE = "azure-native:servicebus:Queue"
APP = "azure-native:web:WebApp"
ROLE = "azure-native:authorization:RoleAssignment"
CONTAINER = "azure-native:storage:BlobContainer"
ACCOUNT = "azure-native:storage:StorageAccount"
HANDLER = "functions.api.handle"


def _settings(app: RecordedResource) -> dict[str, Any]:
    return {pair["name"]: pair["value"] for pair in app.inputs["siteConfig"]["appSettings"]}


def _role_guid(assignment: RecordedResource) -> str:
    return assignment.inputs["roleDefinitionId"].rsplit("/", 1)[-1]


# -- the topic --------------------------------------------------------------------------------


def test_the_topic_takes_cloudevents_and_only_entra_id_publishers(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        EventBus("events", EventBusArgs(tags={"team": "core"}))
        topic = stack.one(TOPIC)
        component = stack.one("omnicloud:index:EventBus", "events")
    assert topic.parent == component.urn
    assert_props(topic, {
        "inputSchema": "CloudEventSchemaV1_0",
        "disableLocalAuth": True,
        "minimumTlsVersionAllowed": "1.2",
        "publicNetworkAccess": "Enabled",
        "identity": {"type": "SystemAssigned"},
        "tags": {"omnicloud-component": "events", "team": "core"},
    })


def test_the_locator_carries_the_topic_endpoint(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        events = EventBus("events")
        locator = stack.resolve(events.locator)
        resource_id = stack.resolve(events.resource_id)
        topic = stack.one(TOPIC)
    assert resource_id == topic.outputs["id"]
    assert locator == {
        "kind": "bus",
        "cloud": "azure",
        "name": "events",
        "endpoint": topic.outputs["endpoint"],
        "topic": topic.outputs["name"],
    }
    assert locator["endpoint"].endswith(".eventgrid.azure.net/api/events")


def test_archive_is_a_gap_on_azure_and_fails_before_deploy(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        with pytest.raises(InvalidArgsError) as caught:
            EventBus("events", EventBusArgs(archive_retention_days=7))
        assert stack.resources == []
    assert caught.value.field == "archive_retention_days"
    assert "no archive" in caught.value.limit


def test_topic_names_event_grid_rejects_fail_before_deploy(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root), pytest.raises(InvalidArgsError, match="Event Grid topic"):
        EventBus("my_events")


# -- subscribe to a Function ------------------------------------------------------------------


def test_a_function_subscription_targets_the_bus_function_with_retries_and_dead_letters(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        events = EventBus("events")
        worker = Function("worker", FunctionArgs(handler=HANDLER))
        result = events.subscribe("on-order", worker, pattern={"type": ["order.created"]},
                                  max_retries=4, max_event_age_s=3600)
        subscription = stack.one(SUBSCRIPTION)
        topic = stack.one(TOPIC)
        app = stack.one(APP)
        account = stack.one(ACCOUNT)
        component = stack.one("omnicloud:index:EventBus", "events")
    assert isinstance(result, AzureBusSubscription)
    assert subscription.parent == component.urn
    assert_props(subscription, {
        "scope": topic.outputs["id"],
        "eventSubscriptionName": "on-order",
        "eventDeliverySchema": "CloudEventSchemaV1_0",
        "destination": {
            "endpointType": "AzureFunction",
            "resourceId": app.outputs["id"] + "/functions/bus_on_order",
            "maxEventsPerBatch": 1,
        },
        "filter": {"includedEventTypes": ["order.created"]},
        "retryPolicy": {"maxDeliveryAttempts": 5, "eventTimeToLiveInMinutes": 60},
        "deadLetterWithResourceIdentity": {
            "identity": {"type": "SystemAssigned"},
            "deadLetterDestination": {
                "endpointType": "StorageBlob",
                "resourceId": account.outputs["id"],
                "blobContainerName": "deadletters",
            },
        },
    })
    assert "filter" in subscription.inputs and "deliveryWithResourceIdentity" not in subscription.inputs


def test_the_function_learns_its_bus_trigger_from_the_descriptor(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        events = EventBus("events")
        worker = Function("worker", FunctionArgs(handler=HANDLER))
        events.subscribe("on-order", worker)
        settings = _settings(stack.one(APP))
    assert json.loads(settings["OMNICLOUD_TRIGGERS"]) == [
        {"kind": "bus", "name": "events", "subscription": "on-order"}
    ]
    assert bus_function_name("on-order") == "bus_on_order"


def test_no_pattern_means_no_filter(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        events = EventBus("events")
        events.subscribe("all", Function("worker", FunctionArgs(handler=HANDLER)))
        assert "filter" not in stack.one(SUBSCRIPTION).inputs


def test_dead_letters_are_written_with_the_topic_identity_granted_once_per_bus(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        events = EventBus("events")
        worker = Function("worker", FunctionArgs(handler=HANDLER))
        events.subscribe("first", worker)
        events.subscribe("second", worker)
        (grant,) = [r for r in stack.find(ROLE) if r.name == "events-dead-letters"]
        container = stack.one(CONTAINER, "deadletters")
        topic = stack.one(TOPIC)
        shared = stack.one("omnicloud:azure:StackResources")
    assert container.parent == shared.urn
    assert_props(container, {"containerName": "deadletters", "publicAccess": "None"})
    assert _role_guid(grant) == BUILT_IN_ROLES["Storage Blob Data Contributor"]
    assert grant.inputs["scope"] == container.outputs["id"]
    assert grant.inputs["principalId"] == topic.outputs["identity"]["principalId"]
    assert len(stack.find(SUBSCRIPTION)) == 2


# -- subscribe to a Queue ---------------------------------------------------------------------


def test_a_queue_subscription_delivers_with_the_topic_identity_and_data_sender(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        events = EventBus("events")
        jobs = Queue("jobs")
        events.subscribe("to-jobs", jobs, pattern={"source": [{"prefix": "shop/"}]})
        events.subscribe("to-jobs-too", jobs)
        subscription = next(s for s in stack.find(SUBSCRIPTION) if s.name == "events-to-jobs")
        queue = stack.one(QUEUE)
        topic = stack.one(TOPIC)
        (sender,) = [r for r in stack.find(ROLE) if r.name == "events-to-queue-jobs"]
    assert_props(subscription, {
        "deliveryWithResourceIdentity": {
            "identity": {"type": "SystemAssigned"},
            "destination": {"endpointType": "ServiceBusQueue", "resourceId": queue.outputs["id"]},
        },
    })
    assert "deliveryAttributeMappings" not in subscription.inputs["deliveryWithResourceIdentity"]["destination"]
    assert "destination" not in subscription.inputs
    assert _role_guid(sender) == BUILT_IN_ROLES["Azure Service Bus Data Sender"]
    assert sender.inputs["scope"] == queue.outputs["id"]
    assert sender.inputs["principalId"] == topic.outputs["identity"]["principalId"]


def test_a_fifo_queue_target_gets_one_session_per_subscription(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        events = EventBus("events")
        events.subscribe("to-orders", Queue("orders", QueueArgs(fifo=True)))
        subscription = stack.one(SUBSCRIPTION)
    assert subscription.inputs["deliveryWithResourceIdentity"]["destination"]["deliveryAttributeMappings"] == [
        {"type": "Static", "name": "SessionId", "value": "to-orders", "isSecret": False}
    ]


# -- what Event Grid cannot do ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kwargs", "field", "limit"),
    [
        ("on-order", {"max_retries": 30}, "subscribe('on-order').max_retries", "at most 30 delivery attempts"),
        ("on-order", {"max_event_age_s": 90}, "subscribe('on-order').max_event_age_s", "whole minutes"),
        ("ab", {}, "subscribe('ab').name", "at least 3"),
        ("on-order", {"pattern": {"source": ["a", {"prefix": "b"}]}}, "subscribe('on-order').pattern", "mixes"),
    ],
)
def test_subscriptions_event_grid_cannot_honour_fail_before_anything_is_registered(
    project_root: Path, name: str, kwargs: dict[str, Any], field: str, limit: str
) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        events = EventBus("events")
        worker = Function("worker", FunctionArgs(handler=HANDLER))
        with pytest.raises(InvalidArgsError) as caught:
            events.subscribe(name, worker, **kwargs)
        assert stack.find(SUBSCRIPTION) == []
        assert stack.find(CONTAINER, "deadletters") == []
    assert caught.value.field == field
    assert caught.value.cloud == "azure"
    assert limit in caught.value.limit


def test_two_buses_cannot_give_one_function_the_same_trigger_name(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root):
        worker = Function("worker", FunctionArgs(handler=HANDLER))
        EventBus("orders").subscribe("on-change", worker)
        with pytest.raises(InvalidArgsError, match="bus_on_change"):
            EventBus("payments").subscribe("on-change", worker)


# -- links ------------------------------------------------------------------------------------


def test_publish_grants_eventgrid_data_sender_on_the_topic(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        events = EventBus("events")
        api = Function("api", FunctionArgs(handler=HANDLER, links=[events.allow("publish")]))
        publish = stack.one(ROLE, "api-bus-events-publish")
        topic = stack.one(TOPIC)
        principal = stack.resolve(api.identity)
    assert _role_guid(publish) == BUILT_IN_ROLES["EventGrid Data Sender"]
    assert publish.inputs["scope"] == topic.outputs["id"]
    assert publish.inputs["principalId"] == principal
