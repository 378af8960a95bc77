"""Table on GCP: a collection in the stack's Firestore database, its indexes, TTL and changes."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

from components import Function, FunctionArgs, Table, TableArgs
from components.errors import InvalidArgsError
from components.table import IndexArgs
from components.testing import MockStack, assert_props
from providers.gcp.table import GcpChangeResources, GcpTableResources
from tests.providers.gcp_fixtures import PROJECT, agent_email, service_agents, triggers_env

__all__ = ["service_agents"]

DATABASE = "gcp:firestore/database:Database"
INDEX = "gcp:firestore/index:Index"
FIELD = "gcp:firestore/field:Field"
TRIGGER = "gcp:eventarc/trigger:Trigger"
ACCOUNT = "gcp:serviceaccount/account:Account"
ACCOUNT_IAM = "gcp:serviceaccount/iAMMember:IAMMember"
PROJECT_IAM = "gcp:projects/iAMMember:IAMMember"
RUN_INVOKER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
FUNCTION = "gcp:cloudfunctionsv2/function:Function"
STACK_COMPONENT = "omnicloud:gcp:StackResources"

pytestmark = pytest.mark.usefixtures("service_agents")


def orders(**extra: Any) -> TableArgs:
    return TableArgs(partition_key="pk", sort_key="sk", **extra)


def index_fields(resource: Any) -> list[tuple[str, str]]:
    return [(field["fieldPath"], field["order"]) for field in resource.inputs["fields"]]


# -- the database -----------------------------------------------------------------------------


def test_one_native_database_per_stack_in_the_functions_region(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root, config={"gcp:region": "europe-west1"}) as stack:
        Table("orders", orders())
        Table("users", TableArgs(partition_key="id"))
    database = stack.one(DATABASE)
    assert database.parent == stack.one(STACK_COMPONENT).urn
    assert_props(
        database,
        {
            "type": "FIRESTORE_NATIVE",
            "locationId": "europe-west1",
            "concurrencyMode": "OPTIMISTIC",
            "appEngineIntegrationMode": "DISABLED",
            "deletionPolicy": "DELETE",
        },
    )
    assert database.inputs["name"].startswith("omnicloud-test-")


@pytest.mark.parametrize(
    ("wishes", "expected"),
    [
        ((True,), "POINT_IN_TIME_RECOVERY_ENABLED"),
        ((False,), "POINT_IN_TIME_RECOVERY_DISABLED"),
        # PITR is per database: one Table asking turns it on, whatever the order.
        ((False, True), "POINT_IN_TIME_RECOVERY_ENABLED"),
        ((True, False), "POINT_IN_TIME_RECOVERY_ENABLED"),
    ],
)
def test_point_in_time_recovery_is_on_when_any_table_wants_it(
    project_root: Path, wishes: tuple[bool, ...], expected: str
) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        for number, wish in enumerate(wishes):
            Table(f"t{number}", TableArgs(partition_key="pk", point_in_time_recovery=wish))
    assert_props(stack.one(DATABASE), {"pointInTimeRecoveryEnablement": expected})


def test_database_ids_differ_per_stack(project_root: Path) -> None:
    names = []
    for stack_name in ("dev", "prod"):
        with MockStack(cloud="gcp", root=project_root, stack=stack_name) as stack:
            Table("orders", orders())
        names.append(stack.one(DATABASE).inputs["name"])
    assert names[0] != names[1]
    assert all(4 <= len(name) <= 63 for name in names)


# -- the collection: indexes, TTL, outputs ----------------------------------------------------


def test_sort_key_queries_get_ascending_and_descending_composite_indexes(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Table("orders", orders(indexes=[IndexArgs(name="by-customer", partition_key="customer", sort_key="at"),
                                        IndexArgs(name="by-status", partition_key="status")]))
    database = stack.one(DATABASE)
    indexes = {r.name: r for r in stack.find(INDEX)}
    assert sorted(indexes) == [
        "orders-ascending", "orders-by-customer-ascending", "orders-by-customer-descending", "orders-descending",
    ]
    assert index_fields(indexes["orders-ascending"]) == [("pk", "ASCENDING"), ("sk", "ASCENDING")]
    assert index_fields(indexes["orders-descending"]) == [("pk", "ASCENDING"), ("sk", "DESCENDING")]
    assert index_fields(indexes["orders-by-customer-descending"]) == [("customer", "ASCENDING"), ("at", "DESCENDING")]
    for index in indexes.values():
        assert_props(index, {"collection": "orders", "database": database.inputs["name"], "queryScope": "COLLECTION"})


def test_a_partition_key_alone_needs_no_composite_index(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Table("users", TableArgs(partition_key="id"))
    assert stack.find(INDEX) == []


def test_ttl_attribute_gets_a_ttl_policy_and_no_index(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Table("orders", orders(ttl_attribute="expires"))
    assert_props(
        stack.one(FIELD),
        {"collection": "orders", "field": "expires", "database": stack.one(DATABASE).inputs["name"],
         "ttlConfig": {}, "indexConfig": {}},
    )


def test_no_ttl_attribute_no_ttl_policy(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Table("orders", orders())
    assert stack.find(FIELD) == []


def test_locator_carries_database_collection_and_key_schema(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        table = Table("orders", orders(key_types={"sk": "number"}, ttl_attribute="expires",
                                       indexes=[IndexArgs(name="by-customer", partition_key="customer")]))
        locator = stack.resolve(table.locator)
        outputs = stack.resolve({"name": table.name, "id": table.resource_id})
    database = stack.one(DATABASE).inputs["name"]
    assert locator == {
        "kind": "table",
        "cloud": "gcp",
        "name": "orders",
        "project": PROJECT,
        "database": database,
        "collection": "orders",
        "partition_key": "pk",
        "sort_key": "sk",
        "key_types": {"customer": "string", "pk": "string", "sk": "number"},
        "indexes": [{"name": "by-customer", "partition_key": "customer", "sort_key": None}],
        "ttl_attribute": "expires",
    }
    assert outputs == {"name": "orders", "id": "omnicloud-tables-id/documents/orders"}
    assert isinstance(table.resources, GcpTableResources)


@pytest.mark.parametrize("name", ["__orders__", "a/b", ".", ".."])
def test_names_firestore_reserves_are_rejected(project_root: Path, name: str) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack, pytest.raises(InvalidArgsError) as caught:
        Table(name, orders())
    assert caught.value.field == "name"
    assert stack.resources == []


# -- on_change ----------------------------------------------------------------------------------


def test_on_change_is_an_eventarc_firestore_trigger_on_the_collection(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        table = Table("orders", orders())
        changes = table.on_change(Function("worker", FunctionArgs(handler="functions.api.handle")))
    database = stack.one(DATABASE).inputs["name"]
    service = stack.one(FUNCTION).outputs["serviceConfig"]["service"].rsplit("/", 1)[-1]
    account = stack.one(ACCOUNT, "orders-worker-changes")
    trigger = stack.one(TRIGGER)
    assert_props(
        trigger,
        {
            "location": "us-central1",
            "matchingCriterias": [
                {"attribute": "type", "value": "google.cloud.firestore.document.v1.written"},
                {"attribute": "database", "value": database},
                {"attribute": "document", "value": "orders/{doc}", "operator": "match-path-pattern"},
            ],
            "eventDataContentType": "application/protobuf",
            "destination": {
                "cloudRunService": {"service": service, "region": "us-central1", "path": "/_omnicloud/table/orders"}
            },
            "serviceAccount": account.outputs["email"],
        },
    )
    assert trigger.parent == stack.one("omnicloud:index:Table").urn
    assert isinstance(changes, GcpChangeResources)


def test_change_identity_gets_invoker_on_the_function_and_event_receiver(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Table("orders", orders()).on_change(Function("worker", FunctionArgs(handler="functions.api.handle")))
    account = stack.one(ACCOUNT, "orders-worker-changes")
    service = stack.one(FUNCTION).outputs["serviceConfig"]["service"].rsplit("/", 1)[-1]
    assert_props(stack.one(RUN_INVOKER, "orders-worker-changes"),
                 {"name": service, "role": "roles/run.invoker", "member": account.outputs["member"]})
    # Eventarc's own requirement, grantable on projects only; no data access in it.
    receiver = stack.one(PROJECT_IAM, "orders-worker-changes")
    assert_props(receiver, {"role": "roles/eventarc.eventReceiver", "member": account.outputs["member"]})
    assert_props(stack.one(ACCOUNT_IAM, "orders-worker-changes"),
                 {"serviceAccountId": account.outputs["name"], "role": "roles/iam.serviceAccountTokenCreator",
                  "member": f"serviceAccount:{agent_email('pubsub')}"})


def test_on_change_lists_the_trigger_identity_and_ships_the_event_decoder(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Table("orders", orders()).on_change(Function("worker", FunctionArgs(handler="functions.api.handle")))
    account = stack.one(ACCOUNT, "orders-worker-changes")
    expected = [{"kind": "table", "name": "orders", "identity": account.outputs["email"]}]
    assert triggers_env(stack.one(FUNCTION)) == expected
    source = stack.one("gcp:storage/bucketObject:BucketObject").inputs["source"]
    with zipfile.ZipFile(source.path) as archive:
        requirements = archive.read("requirements.txt").decode().splitlines()
    assert "google-events>=0.14" in requirements
    assert "google-auth>=2.30" not in requirements  # private: Cloud Run checks the token


def test_on_change_follows_a_non_default_region(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root, config={"gcp:region": "europe-west1"}) as stack:
        Table("orders", orders()).on_change(Function("worker", FunctionArgs(handler="functions.api.handle")))
    assert_props(stack.one(TRIGGER), {"location": "europe-west1",
                                      "destination": {"cloudRunService": {"region": "europe-west1"}}})
