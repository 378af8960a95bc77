"""EventBus on GCP: a partition of the stack's Eventarc Advanced bus, enrollments + pipelines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components import EventBus, EventBusArgs, Function, FunctionArgs, Queue, QueueArgs
from components.errors import InvalidArgsError
from components.patterns import parse_pattern
from components.testing import MockStack, assert_props
from providers.gcp.event_bus import GcpBusSubscriptionResources, GcpEventBusResources, retry_delays
from providers.gcp.patterns import compile_cel, field_attribute
from tests.providers.gcp_fixtures import PROJECT, agent_email, service_agents, triggers_env

__all__ = ["service_agents"]

BUS = "gcp:eventarc/messageBus:MessageBus"
PIPELINE = "gcp:eventarc/pipeline:Pipeline"
ENROLLMENT = "gcp:eventarc/enrollment:Enrollment"
ACCOUNT = "gcp:serviceaccount/account:Account"
ACCOUNT_IAM = "gcp:serviceaccount/iAMMember:IAMMember"
TOPIC_IAM = "gcp:pubsub/topicIAMMember:TopicIAMMember"
RUN_INVOKER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
FUNCTION = "gcp:cloudfunctionsv2/function:Function"
AGENT = "gcp:projects/serviceIdentity:ServiceIdentity"
EVENTARC_AGENT = f"serviceAccount:{agent_email('eventarc')}"
ORDER_CREATED = {"type": ["order.created"], "data": {"total": [{"numeric": [">=", 100]}]}}

pytestmark = pytest.mark.usefixtures("service_agents")


def worker() -> FunctionArgs:
    return FunctionArgs(handler="functions.api.handle")


# -- the bus ----------------------------------------------------------------------------------


def test_every_eventbus_of_the_stack_shares_one_message_bus(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        events = EventBus("events")
        audit = EventBus("audit")
        ids = stack.resolve([events.resource_id, audit.resource_id])
    bus = stack.one(BUS)
    assert bus.parent == stack.one("omnicloud:gcp:StackResources").urn
    assert_props(bus, {"location": "us-central1", "loggingConfig": {"logSeverity": "ERROR"}})
    assert ids[0] == ids[1] == (
        f"projects/{PROJECT}/locations/us-central1/messageBuses/{bus.inputs['messageBusId']}"
    )
    assert isinstance(events.resources, GcpEventBusResources)


def test_locator_tells_publishers_the_bus_the_partition_and_the_fields_to_project(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        events = EventBus("events")
        fn = Function("worker", worker())
        events.subscribe("big-orders", fn, pattern=ORDER_CREATED)
        events.subscribe("vip", fn, pattern={"data": {"customer": {"tier": ["gold"]}, "total": [{"exists": True}]}})
        locator = stack.resolve(events.locator)
    bus = stack.one(BUS)
    assert locator == {
        "kind": "bus",
        "cloud": "gcp",
        "name": "events",
        "project": PROJECT,
        "location": "us-central1",
        "message_bus": f"projects/{PROJECT}/locations/us-central1/messageBuses/{bus.inputs['messageBusId']}",
        "bus_attribute": "omnicloudbus",
        # Every subscription's data fields, once each (subscriptions come after the links).
        "filter_fields": [
            {"path": ["total"], "attribute": field_attribute(("total",))},
            {"path": ["customer", "tier"], "attribute": field_attribute(("customer", "tier"))},
        ],
        "max_list_items": 8,
    }


def test_publishers_linked_before_subscriptions_see_every_field(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        events = EventBus("events")
        Function("api", FunctionArgs(handler="functions.api.handle", links=[events.allow("publish")]))
        events.subscribe("big-orders", Function("worker", worker()), pattern=ORDER_CREATED)
    api = stack.one(FUNCTION, "api")
    assert '"path": ["total"]' in api.inputs["serviceConfig"]["environmentVariables"]["OMNICLOUD_LINK_BUS_EVENTS"]


def test_archive_retention_is_refused_before_anything_is_registered(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack, pytest.raises(InvalidArgsError) as caught:
        EventBus("events", EventBusArgs(archive_retention_days=7))
    assert caught.value.field == "archive_retention_days"
    assert "no archive" in caught.value.limit
    assert stack.resources == []


# -- subscriptions ------------------------------------------------------------------------------


def test_function_subscription_is_an_enrollment_and_an_oidc_pipeline(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        events = EventBus("events")
        subscribed = events.subscribe("big-orders", Function("worker", worker()), pattern=ORDER_CREATED,
                                      max_retries=4, max_event_age_s=3600)
    uri = stack.one(FUNCTION).outputs["serviceConfig"]["uri"]
    account = stack.one(ACCOUNT, "events-big-orders")
    pipeline = stack.one(PIPELINE, "events-big-orders")
    assert_props(
        pipeline,
        {
            "location": "us-central1",
            "destinations": [
                {
                    "httpEndpoint": {"uri": f"{uri}/_omnicloud/bus/events/big-orders"},
                    "authenticationConfig": {
                        "googleOidc": {"serviceAccount": account.outputs["email"], "audience": uri}
                    },
                }
            ],
            "retryPolicy": {"maxAttempts": 5, "minRetryDelay": "5s", "maxRetryDelay": "600s"},
            "loggingConfig": {"logSeverity": "WARNING"},
        },
    )
    assert_props(
        stack.one(ENROLLMENT, "events-big-orders"),
        {
            "location": "us-central1",
            "messageBus": "omnicloud-bus-id",
            "destination": "events-big-orders-id",
            "celMatch": compile_cel("events", parse_pattern(ORDER_CREATED)),
        },
    )
    assert isinstance(subscribed, GcpBusSubscriptionResources)


def test_every_enrollment_is_confined_to_its_eventbus(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        fn = Function("worker", worker())
        EventBus("events").subscribe("all", fn)
        EventBus("audit").subscribe("all", fn)
    cels = {r.name: r.inputs["celMatch"] for r in stack.find(ENROLLMENT)}
    assert cels == {
        "events-all": 'has(message.omnicloudbus) && message.omnicloudbus == "events"',
        "audit-all": 'has(message.omnicloudbus) && message.omnicloudbus == "audit"',
    }


def test_pipeline_identity_may_invoke_that_function_and_eventarc_signs_for_it(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        EventBus("events").subscribe("big-orders", Function("worker", worker()))
    account = stack.one(ACCOUNT, "events-big-orders")
    service = stack.one(FUNCTION).outputs["serviceConfig"]["service"].rsplit("/", 1)[-1]
    assert_props(stack.one(RUN_INVOKER, "events-big-orders"),
                 {"name": service, "role": "roles/run.invoker", "member": account.outputs["member"]})
    assert_props(stack.one(ACCOUNT_IAM, "events-big-orders"),
                 {"serviceAccountId": account.outputs["name"], "role": "roles/iam.serviceAccountTokenCreator",
                  "member": EVENTARC_AGENT})
    assert_props(stack.one(AGENT), {"service": "eventarc.googleapis.com"})


def test_function_subscription_is_listed_in_the_functions_triggers(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        EventBus("events").subscribe("big-orders", Function("worker", worker()))
    account = stack.one(ACCOUNT, "events-big-orders")
    assert triggers_env(stack.one(FUNCTION)) == [
        {"kind": "bus", "name": "events", "subscription": "big-orders", "identity": account.outputs["email"]}
    ]


def test_queue_subscription_delivers_into_the_queues_topic(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        jobs = Queue("jobs")
        EventBus("events").subscribe("to-jobs", jobs, pattern={"type": ["order.created"]})
    topic = stack.one("gcp:pubsub/topic:Topic", "jobs")
    assert_props(stack.one(PIPELINE, "events-to-jobs"), {"destinations": [{"topic": "jobs-id"}]})
    assert "authenticationConfig" not in stack.one(PIPELINE, "events-to-jobs").inputs["destinations"][0]
    assert_props(stack.one(TOPIC_IAM, "events-to-jobs"),
                 {"topic": topic.outputs["name"], "role": "roles/pubsub.publisher", "member": EVENTARC_AGENT})
    assert stack.find(ACCOUNT) == []  # no identity of our own: Eventarc's agent publishes


@pytest.mark.parametrize(
    ("retries", "age", "expected"),
    [
        (8, 86400, (5, 600)),   # the default: capped by Eventarc's 600 s
        (4, 3600, (5, 600)),
        (10, 600, (5, 60)),     # 10 retries x 60 s stay within 600 s
        (99, 120, (1, 1)),
        (0, 60, (5, 60)),       # one attempt: delays unused
    ],
)
def test_retry_delays_keep_every_retry_within_the_event_age(retries: int, age: int, expected: tuple[int, int]) -> None:
    low, high = retry_delays(retries, age)
    assert (low, high) == expected
    assert retries * high <= age or retries == 0
    assert 1 <= low <= high <= 600


@pytest.mark.parametrize(
    ("options", "field", "limit"),
    [
        ({"max_retries": 100}, "max_retries", "at most 99"),
        ({"max_retries": 99, "max_event_age_s": 60}, "max_event_age_s", "at least max_retries"),
    ],
)
def test_retry_limits_fail_before_the_subscription_is_registered(
    project_root: Path, options: dict[str, Any], field: str, limit: str
) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        events = EventBus("events")
        fn = Function("worker", worker())
        with pytest.raises(InvalidArgsError) as caught:
            events.subscribe("big-orders", fn, **options)
        events.subscribe("big-orders", fn)  # the name was not taken by the failed call
    assert caught.value.field == field
    assert limit in caught.value.limit
    assert len(stack.find(PIPELINE)) == 1


def test_a_pattern_string_no_event_can_carry_is_refused(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root), pytest.raises(InvalidArgsError) as caught:
        EventBus("events").subscribe("odd", Function("worker", worker()), pattern={"type": ["\ud800"]})
    assert "surrogate" in caught.value.limit


def test_a_queue_of_another_cloud_is_refused(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root), pytest.raises(InvalidArgsError) as caught:
        EventBus("events").subscribe("x", Queue("jobs", QueueArgs(), cloud="local"))
    assert "wiring across clouds" in caught.value.limit
