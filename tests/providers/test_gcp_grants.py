"""The GCP verb table: each link verb grants exactly its permissions on exactly its resource."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

from components import EventBus, Function, FunctionArgs, Queue, QueueArgs, Table, TableArgs
from components.errors import InvalidArgsError
from components.testing import MockStack, RecordedResource, assert_props
from providers.gcp.grants import TABLE_PERMISSIONS, Grant
from tests.providers.gcp_fixtures import PROJECT, service_agents

__all__ = ["service_agents"]

TOPIC_IAM = "gcp:pubsub/topicIAMMember:TopicIAMMember"
SUBSCRIPTION_IAM = "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember"
PROJECT_IAM = "gcp:projects/iAMMember:IAMMember"
CUSTOM_ROLE = "gcp:projects/iAMCustomRole:IAMCustomRole"
RUN_INVOKER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
ACCOUNT_IAM = "gcp:serviceaccount/iAMMember:IAMMember"
FUNCTION = "gcp:cloudfunctionsv2/function:Function"
ACCOUNT = "gcp:serviceaccount/account:Account"
DATABASE = "gcp:firestore/database:Database"

pytestmark = pytest.mark.usefixtures("service_agents")


def api(*links: Any, **extra: Any) -> FunctionArgs:
    return FunctionArgs(handler="functions.api.handle", links=list(links), **extra)


def member_of(stack: MockStack, function: str) -> str:
    return stack.one(ACCOUNT, f"{function}-sa").outputs["member"]


def requirements_of(stack: MockStack, function: str) -> list[str]:
    source = stack.one("gcp:storage/bucketObject:BucketObject", f"{function}-source").inputs["source"]
    with zipfile.ZipFile(source.path) as archive:
        return archive.read("requirements.txt").decode().splitlines()


# -- queue ------------------------------------------------------------------------------------


def test_queue_send_is_publisher_on_the_topic_only(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        jobs = Queue("jobs")
        Function("api", api(jobs.allow("send")))
    topic = stack.one("gcp:pubsub/topic:Topic", "jobs")
    assert_props(stack.one(TOPIC_IAM, "api-queue-jobs-send"),
                 {"topic": topic.outputs["name"], "role": "roles/pubsub.publisher", "member": member_of(stack, "api")})
    assert [r for r in stack.find(SUBSCRIPTION_IAM) if r.name.startswith("api-")] == []


def test_queue_receive_is_subscriber_on_the_subscription_only(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        jobs = Queue("jobs")
        Function("api", api(jobs.allow("receive")))
    subscription = stack.one("gcp:pubsub/subscription:Subscription", "jobs")
    assert_props(stack.one(SUBSCRIPTION_IAM, "api-queue-jobs-receive"),
                 {"subscription": subscription.outputs["name"], "role": "roles/pubsub.subscriber",
                  "member": member_of(stack, "api")})
    assert [r for r in stack.find(TOPIC_IAM) if r.name.startswith("api-")] == []


def test_queue_link_ships_the_pubsub_client(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        jobs = Queue("jobs")
        Function("api", api(jobs.allow("send")))
        Function("plain", api())
    assert "google-cloud-pubsub>=2.23" in requirements_of(stack, "api")
    assert "google-cloud-pubsub>=2.23" not in requirements_of(stack, "plain")


# -- table ------------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["read", "write", "delete"])
def test_each_table_verb_binds_its_own_custom_role_conditioned_on_the_database(project_root: Path, verb: str) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        orders = Table("orders", TableArgs(partition_key="pk"))
        Function("api", api(orders.allow(verb)))
    database = stack.one(DATABASE).inputs["name"]
    role = stack.one(CUSTOM_ROLE, f"omnicloud-table-{verb}")
    assert role.inputs["permissions"] == list(TABLE_PERMISSIONS[verb])
    assert_props(role, {"stage": "GA"})
    assert role.inputs["roleId"].replace("_", "").isalnum()
    assert_props(
        stack.one(PROJECT_IAM, f"api-table-orders-{verb}"),
        {
            "project": PROJECT,
            "role": role.outputs["name"],
            "member": member_of(stack, "api"),
            "condition": {"expression": f'resource.name == "projects/{PROJECT}/databases/{database}"'},
        },
    )


def test_table_verbs_hold_only_their_own_permissions() -> None:
    assert TABLE_PERMISSIONS["read"] == ("datastore.entities.get", "datastore.entities.list")
    assert not any("delete" in p for p in TABLE_PERMISSIONS["write"])
    assert not any(p.endswith((".create", ".update")) for p in TABLE_PERMISSIONS["delete"])
    assert not any(p.endswith((".create", ".update", ".delete")) for p in TABLE_PERMISSIONS["read"])
    for permissions in TABLE_PERMISSIONS.values():
        assert all("*" not in p for p in permissions)


def test_custom_roles_are_made_once_per_stack_and_verb(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        orders = Table("orders", TableArgs(partition_key="pk"))
        users = Table("users", TableArgs(partition_key="id"))
        Function("api", api(orders.allow("read", "write"), users.allow("read")))
        Function("worker", api(orders.allow("read")))
    assert sorted(r.name for r in stack.find(CUSTOM_ROLE)) == ["omnicloud-table-read", "omnicloud-table-write"]
    assert len([r for r in stack.find(PROJECT_IAM) if "-table-" in r.name]) == 4


def test_table_link_ships_the_firestore_client(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        orders = Table("orders", TableArgs(partition_key="pk"))
        Function("api", api(orders.allow("read")))
    assert "google-cloud-firestore>=2.16" in requirements_of(stack, "api")


# -- bus and function -------------------------------------------------------------------------


def test_bus_publish_is_message_bus_user_on_the_project(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        events = EventBus("events")
        Function("api", api(events.allow("publish")))
    binding = stack.one(PROJECT_IAM, "api-bus-events-publish")
    assert_props(binding, {"project": PROJECT, "role": "roles/eventarc.messageBusUser",
                           "member": member_of(stack, "api")})
    assert "google-cloud-eventarc-publishing>=0.10" in requirements_of(stack, "api")


def test_function_invoke_is_run_invoker_on_that_service(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        worker = Function("worker", api())
        Function("api", api(worker.allow("invoke")))
    service = stack.one(FUNCTION, "worker").outputs["serviceConfig"]["service"].rsplit("/", 1)[-1]
    assert_props(stack.one(RUN_INVOKER, "api-function-worker-invoke"),
                 {"name": service, "role": "roles/run.invoker", "member": member_of(stack, "api")})


def test_grants_are_children_of_the_granted_function_and_recorded(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        jobs = Queue("jobs")
        fn = Function("api", api(jobs.allow("send", "receive")))
    function = stack.one("omnicloud:index:Function")
    assert stack.one(TOPIC_IAM, "api-queue-jobs-send").parent == function.urn
    assert [(g.kind, g.verb) for g in fn.resources.grants] == [("queue", "send"), ("queue", "receive")]
    assert all(isinstance(g, Grant) for g in fn.resources.grants)


def test_links_to_another_cloud_fail_before_anything_is_registered(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        jobs = Queue("jobs", QueueArgs(), cloud="local")
        with pytest.raises(InvalidArgsError) as caught:
            Function("api", api(jobs.allow("send")))
    assert caught.value.field == "links"
    assert "links must stay on gcp" in caught.value.limit
    assert stack.find(FUNCTION) == []


# -- policy sweep over a whole app ------------------------------------------------------------

# The only project-level bindings, each because IAM offers nothing narrower (see grants.py):
PROJECT_LEVEL_ALLOWED = {
    "roles/eventarc.messageBusUser": "no message-bus IAM resource; one bus per project and region",
    "roles/eventarc.eventReceiver": "Eventarc's trigger identity role, grantable on projects only",
}


def _app(stack: MockStack) -> None:
    orders = Table("orders", TableArgs(partition_key="pk", sort_key="sk", ttl_attribute="expires"))
    jobs = Queue("jobs", QueueArgs(visibility_timeout_s=60, max_receive_count=5))
    events = EventBus("events")
    Function("api", FunctionArgs(handler="functions.api.handle", http="public",
                                 links=[orders.allow("read", "write"), jobs.allow("send"), events.allow("publish")]))
    worker = Function("worker", FunctionArgs(handler="functions.api.handle", links=[orders.allow("write")]))
    jobs.subscribe(worker, batch_size=10)
    events.subscribe("on-order", worker, pattern={"type": ["order.created"]})
    events.subscribe("to-jobs", jobs, pattern={"data": {"total": [{"numeric": [">", 100]}]}})
    orders.on_change(worker)


def _bindings(stack: MockStack) -> list[RecordedResource]:
    return [r for r in stack.find() if r.custom and ("IamMember" in r.type or "iAMMember" in r.type
                                                      or "IAMMember" in r.type)]


def test_no_wildcards_no_unconditioned_project_roles_and_no_basic_roles(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        _app(stack)
    bindings = _bindings(stack)
    assert len(bindings) > 10
    for binding in bindings:
        role, member = binding.inputs["role"], binding.inputs["member"]
        assert "*" not in role and "*" not in member, binding.name
        assert role not in ("roles/owner", "roles/editor", "roles/viewer"), binding.name
        if binding.type == PROJECT_IAM and "condition" not in binding.inputs:
            assert role in PROJECT_LEVEL_ALLOWED, (binding.name, role)
        if binding.type == PROJECT_IAM and "condition" in binding.inputs:
            assert binding.inputs["condition"]["expression"].startswith('resource.name == "projects/')
    # The only public grant is the public function's own invoker binding.
    public = [b for b in bindings if b.inputs["member"] == "allUsers"]
    assert [b.name for b in public] == ["api-public"]


def test_every_binding_traces_to_a_verb_a_trigger_or_dead_lettering(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        _app(stack)
    expected = {
        # links
        "api-table-orders-read", "api-table-orders-write", "api-queue-jobs-send", "api-bus-events-publish",
        "worker-table-orders-write",
        # the public function and the secretless functions' own
        "api-public",
        # dead-lettering (Pub/Sub's agent)
        "jobs-dlq-agent", "jobs-agent",
        # queue -> worker push
        "jobs-push-invoker", "jobs-push-token",
        # bus -> worker, bus -> jobs
        "events-on-order", "events-to-jobs",
        # table changes -> worker
        "orders-worker-changes",
    }
    assert {b.name for b in _bindings(stack)} == expected
