"""Queue on GCP: Pub/Sub topic + one subscription + dead-letter topic, and push to a Function."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from components import Function, FunctionArgs, Queue, QueueArgs
from components.errors import InvalidArgsError
from components.testing import MockStack, assert_props
from providers.gcp.queue import GcpQueueResources, GcpQueueSubscriptionResources
from tests.providers.gcp_fixtures import PROJECT, agent_email, service_agents, triggers_env

__all__ = ["service_agents"]  # the fixture, used by name below

TOPIC = "gcp:pubsub/topic:Topic"
SUBSCRIPTION = "gcp:pubsub/subscription:Subscription"
TOPIC_IAM = "gcp:pubsub/topicIAMMember:TopicIAMMember"
SUBSCRIPTION_IAM = "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember"
ACCOUNT = "gcp:serviceaccount/account:Account"
ACCOUNT_IAM = "gcp:serviceaccount/iAMMember:IAMMember"
RUN_INVOKER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
FUNCTION = "gcp:cloudfunctionsv2/function:Function"
AGENT = "gcp:projects/serviceIdentity:ServiceIdentity"
PUBSUB_AGENT = f"serviceAccount:{agent_email('pubsub')}"

pytestmark = pytest.mark.usefixtures("service_agents")


def worker(**extra: Any) -> FunctionArgs:
    return FunctionArgs(handler="functions.api.handle", **extra)


def run_uri(stack: MockStack, name: str) -> str:
    return stack.one(FUNCTION, name).outputs["serviceConfig"]["uri"]


# -- the queue --------------------------------------------------------------------------------


def test_outputs_name_the_topic_and_the_dead_letter_topic(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        jobs = Queue("jobs")
        outputs = {"name": stack.resolve(jobs.name), "id": stack.resolve(jobs.resource_id),
                   "dlq": stack.resolve(jobs.dead_letter)}
    topic, dlq = stack.one(TOPIC, "jobs"), stack.one(TOPIC, "jobs-dlq")
    assert re.fullmatch(r"jobs-[0-9a-f]{7}", outputs["name"])
    assert outputs["name"] == topic.outputs["name"]
    assert outputs["id"] != outputs["dlq"]
    assert {topic.urn, dlq.urn} <= {r.urn for r in stack.find(TOPIC)}
    assert isinstance(jobs.resources, GcpQueueResources)


def test_subscription_carries_the_queue_semantics(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Queue("jobs", QueueArgs(visibility_timeout_s=60, retention_s=86400, max_receive_count=7))
    assert_props(
        stack.one(SUBSCRIPTION, "jobs"),
        {
            "ackDeadlineSeconds": 60,
            "messageRetentionDuration": "86400s",
            "retainAckedMessages": False,
            "enableMessageOrdering": False,
            "expirationPolicy": {"ttl": ""},
            # The mocks' resource IDs are "<logical name>-id".
            "deadLetterPolicy": {"deadLetterTopic": "jobs-dlq-id", "maxDeliveryAttempts": 7},
            "retryPolicy": {"minimumBackoff": "10s", "maximumBackoff": "600s"},
            "labels": {"omnicloud-component": "jobs", "omnicloud-stack": "test"},
        },
    )
    assert stack.one(SUBSCRIPTION, "jobs").inputs["topic"] == "jobs-id"


def test_an_unsubscribed_queue_is_pulled(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Queue("jobs")
    assert "pushConfig" not in stack.one(SUBSCRIPTION, "jobs").inputs


def test_fifo_turns_message_ordering_on(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(fifo=True))
        locator = stack.resolve(jobs.locator)
    assert_props(stack.one(SUBSCRIPTION, "jobs"), {"enableMessageOrdering": True})
    assert locator["fifo"] is True


def test_dead_letters_are_kept_and_inspectable(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Queue("jobs")
    assert_props(
        stack.one(SUBSCRIPTION, "jobs-dlq"),
        {"topic": "jobs-dlq-id", "messageRetentionDuration": "604800s", "expirationPolicy": {"ttl": ""}},
    )
    assert "deadLetterPolicy" not in stack.one(SUBSCRIPTION, "jobs-dlq").inputs


def test_pubsub_agent_may_dead_letter_and_nothing_more(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Queue("jobs")
    dlq = stack.one(TOPIC, "jobs-dlq")
    subscription = stack.one(SUBSCRIPTION, "jobs")
    assert_props(stack.one(AGENT), {"service": "pubsub.googleapis.com"})
    assert_props(
        stack.one(TOPIC_IAM, "jobs-dlq-agent"),
        {"topic": dlq.outputs["name"], "role": "roles/pubsub.publisher", "member": PUBSUB_AGENT},
    )
    assert_props(
        stack.one(SUBSCRIPTION_IAM, "jobs-agent"),
        {"subscription": subscription.outputs["name"], "role": "roles/pubsub.subscriber", "member": PUBSUB_AGENT},
    )
    # Nothing on the source topic: the agent only moves messages out.
    assert [r.name for r in stack.find(TOPIC_IAM)] == ["jobs-dlq-agent"]


def test_one_pubsub_agent_per_stack(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Queue("jobs")
        Queue("mails")
    assert len(stack.find(AGENT)) == 1
    assert stack.one(AGENT).parent == stack.one("omnicloud:gcp:StackResources").urn


def test_locator_tells_the_runtime_project_topic_and_subscription(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(max_message_kb=64))
        locator = stack.resolve(jobs.locator)
    assert locator == {
        "kind": "queue",
        "cloud": "gcp",
        "name": "jobs",
        "project": PROJECT,
        "topic": stack.one(TOPIC, "jobs").outputs["name"],
        "subscription": stack.one(SUBSCRIPTION, "jobs").outputs["name"],
        "fifo": False,
        "max_message_kb": 64,
    }


def test_every_resource_is_a_child_of_the_queue_but_the_agent(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Queue("jobs")
    queue = stack.one("omnicloud:index:Queue")
    for resource in stack.find():
        if resource.custom and resource.type != AGENT:
            assert resource.parent == queue.urn, resource.type


def test_overrides_reach_the_subscription(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Queue("jobs", QueueArgs(overrides={"gcp": {"enable_exactly_once_delivery": True}}))
    assert_props(stack.one(SUBSCRIPTION, "jobs"), {"enableExactlyOnceDelivery": True})


def test_unknown_override_fails_before_anything_is_registered(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack, pytest.raises(InvalidArgsError) as caught:
        Queue("jobs", QueueArgs(overrides={"gcp": {"ack_deadline": 10}}))
    assert caught.value.field == "overrides.gcp.ack_deadline"
    assert stack.resources == []


# -- limits -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "field", "limit"),
    [
        ({"visibility_timeout_s": 9}, "visibility_timeout_s", "10-600"),
        ({"visibility_timeout_s": 601}, "visibility_timeout_s", "10-600"),
        ({"retention_s": 599}, "retention_s", "600-604800"),
        ({"retention_s": 604801}, "retention_s", "600-604800"),
        ({"max_receive_count": 4}, "max_receive_count", "5-100"),
        ({"max_receive_count": 101}, "max_receive_count", "5-100"),
        ({"delay_s": 1}, "delay_s", "no delivery delay"),
        ({"max_message_kb": 10241}, "max_message_kb", "10240"),
    ],
)
def test_limits_fail_before_anything_is_registered(
    project_root: Path, args: dict[str, Any], field: str, limit: str
) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack, pytest.raises(InvalidArgsError) as caught:
        Queue("jobs", QueueArgs(**args))
    assert caught.value.field == field
    assert caught.value.cloud == "gcp"
    assert limit in caught.value.limit
    assert stack.resources == []


@pytest.mark.parametrize("name", ["1jobs", "google-jobs", "jobs/x", "j" * 244])
def test_names_pubsub_cannot_hold_are_rejected(project_root: Path, name: str) -> None:
    with MockStack(cloud="gcp", root=project_root), pytest.raises(InvalidArgsError) as caught:
        Queue(name)
    assert caught.value.field == "name"


def test_limits_at_the_edges_are_accepted(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root):
        Queue("a", QueueArgs(visibility_timeout_s=10, retention_s=600, max_receive_count=5, max_message_kb=10240))
        Queue("b", QueueArgs(visibility_timeout_s=600, retention_s=604800, max_receive_count=100))


# -- subscribe: the same subscription becomes a push subscription ----------------------------


def test_subscribe_turns_the_one_subscription_into_an_oidc_push(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(visibility_timeout_s=60))
        fn = Function("worker", worker())
        subscribed = jobs.subscribe(fn)
    assert len(stack.find(SUBSCRIPTION)) == 2  # the queue's and the dead letters', no third
    uri = run_uri(stack, "worker")
    push = stack.one(ACCOUNT, "jobs-push")
    assert_props(
        stack.one(SUBSCRIPTION, "jobs"),
        {
            "pushConfig": {
                "pushEndpoint": f"{uri}/_omnicloud/queue/jobs",
                "oidcToken": {"serviceAccountEmail": push.outputs["email"], "audience": uri},
            }
        },
    )
    # The standard wrapper (message.data base64, attributes, messageId, deliveryAttempt).
    assert "noWrapper" not in stack.one(SUBSCRIPTION, "jobs").inputs["pushConfig"]
    assert isinstance(subscribed, GcpQueueSubscriptionResources)


def test_push_identity_may_invoke_that_function_only(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(visibility_timeout_s=60))
        jobs.subscribe(Function("worker", worker()))
    push = stack.one(ACCOUNT, "jobs-push")
    service = stack.one(FUNCTION, "worker").outputs["serviceConfig"]["service"].rsplit("/", 1)[-1]
    assert re.fullmatch(rf"jobs-push-[0-9a-f]{{6}}@{PROJECT}\.iam\.gserviceaccount\.com", push.outputs["email"])
    assert_props(
        stack.one(RUN_INVOKER, "jobs-push-invoker"),
        {"name": service, "location": "us-central1", "role": "roles/run.invoker", "member": push.outputs["member"]},
    )
    # Pub/Sub's agent signs the push tokens as that account, and only that one.
    assert_props(
        stack.one(ACCOUNT_IAM, "jobs-push-token"),
        {"serviceAccountId": push.outputs["name"], "role": "roles/iam.serviceAccountTokenCreator",
         "member": PUBSUB_AGENT},
    )


def test_subscribe_lists_the_push_identity_in_the_functions_triggers(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(visibility_timeout_s=60))
        fn = Function("worker", worker())
        jobs.subscribe(fn)
    push = stack.one(ACCOUNT, "jobs-push")
    assert triggers_env(stack.one(FUNCTION, "worker")) == [
        {"kind": "queue", "name": "jobs", "identity": push.outputs["email"]}
    ]


def test_public_subscriber_ships_google_auth_to_verify_push_tokens(project_root: Path) -> None:
    import zipfile

    with MockStack(cloud="gcp", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(visibility_timeout_s=60))
        jobs.subscribe(Function("worker", worker(http="public")))
        Function("plain", worker(http="public"))
    for name, expected in (("worker", True), ("plain", False)):
        source = stack.one("gcp:storage/bucketObject:BucketObject", f"{name}-source").inputs["source"]
        with zipfile.ZipFile(source.path) as archive:
            requirements = archive.read("requirements.txt").decode().splitlines()
        assert ("google-auth>=2.30" in requirements) is expected, name


def test_a_second_subscriber_is_refused(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root), pytest.raises(InvalidArgsError) as caught:
        jobs = Queue("jobs", QueueArgs(visibility_timeout_s=60))
        jobs.subscribe(Function("worker", worker()))
        jobs.subscribe(Function("other", worker()))
    assert caught.value.field == "subscribe"
    assert "'worker' already consumes it" in caught.value.limit


def test_a_batching_window_is_refused_but_batch_size_is_accepted(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(visibility_timeout_s=60))
        fn = Function("worker", worker())
        with pytest.raises(InvalidArgsError) as caught:
            jobs.subscribe(fn, max_batching_window_s=5)
        jobs.subscribe(fn, batch_size=10)  # delivered as batches of one
    assert caught.value.field == "max_batching_window_s"
    assert "one per request" in caught.value.limit
    assert "pushConfig" in stack.one(SUBSCRIPTION, "jobs").inputs


def test_a_function_slower_than_the_ack_deadline_is_refused(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root), pytest.raises(InvalidArgsError) as caught:
        jobs = Queue("jobs", QueueArgs(visibility_timeout_s=30))
        jobs.subscribe(Function("worker", worker(timeout_s=60)))
    assert caught.value.field == "visibility_timeout_s"
    assert "timeout_s (60)" in caught.value.limit


def test_subscribing_a_function_of_another_cloud_is_refused(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root), pytest.raises(InvalidArgsError) as caught:
        jobs = Queue("jobs")
        jobs.subscribe(Function("worker", worker(), cloud="local"))
    assert "wiring across clouds" in caught.value.limit
