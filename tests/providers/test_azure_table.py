"""Table on Azure: the serverless Cosmos DB account, containers, change feed and grants (mocked)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components import Function, FunctionArgs, Table, TableArgs
from components.errors import InvalidArgsError
from components.table import IndexArgs
from components.testing import MockStack, RecordedResource, assert_props
from providers.azure.roles import COSMOS_DATA_ACTIONS
from providers.azure.table import AzureTableResources, AzureTableTrigger

ACCOUNT = "azure-native:cosmosdb:DatabaseAccount"
DATABASE = "azure-native:cosmosdb:SqlResourceSqlDatabase"
CONTAINER = "azure-native:cosmosdb:SqlResourceSqlContainer"
ROLE_DEFINITION = "azure-native:cosmosdb:SqlResourceSqlRoleDefinition"
ROLE_ASSIGNMENT = "azure-native:cosmosdb:SqlResourceSqlRoleAssignment"
GROUP = "azure-native:resources:ResourceGroup"
APP = "azure-native:web:WebApp"
HANDLER = "functions.api.handle"
ORDERS = TableArgs(
    partition_key="pk",
    sort_key="sk",
    key_types={"total": "number"},
    ttl_attribute="expires",
    indexes=[IndexArgs(name="by-customer", partition_key="customer", sort_key="total")],
)


def _settings(app: RecordedResource) -> dict[str, Any]:
    return {pair["name"]: pair["value"] for pair in app.inputs["siteConfig"]["appSettings"]}


def _container(stack: MockStack, name: str) -> RecordedResource:
    return next(r for r in stack.find(CONTAINER) if r.name == name)


def _role_of(stack: MockStack, assignment: RecordedResource) -> str:
    """The omnicloud data role (``read``, ``write``...) an assignment refers to."""
    wanted = assignment.inputs["roleDefinitionId"]
    definition = next(d for d in stack.find(ROLE_DEFINITION) if d.outputs["id"] == wanted)
    return definition.inputs["roleName"].removeprefix("omnicloud table ")


# -- the account ------------------------------------------------------------------------------


def test_no_cosmos_account_is_created_until_a_table_needs_one(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Function("api", FunctionArgs(handler=HANDLER))
        assert stack.find(ACCOUNT) == []


def test_tables_share_one_serverless_entra_only_account_with_continuous_backup(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Table("orders", ORDERS)
        Table("carts", TableArgs(partition_key="id_", point_in_time_recovery=False))
        account = stack.one(ACCOUNT)
        database = stack.one(DATABASE)
        group = stack.one(GROUP)
        shared = stack.one("omnicloud:azure:StackResources")
    assert account.parent == shared.urn and database.parent == shared.urn
    assert_props(account, {
        "kind": "GlobalDocumentDB",
        "databaseAccountOfferType": "Standard",
        "capabilities": [{"name": "EnableServerless"}],
        "locations": [{"locationName": group.outputs["location"], "failoverPriority": 0}],
        "consistencyPolicy": {"defaultConsistencyLevel": "Session"},
        # Account-level: the table that turned PITR off is backed up too (documented).
        "backupPolicy": {"type": "Continuous", "continuousModeProperties": {"tier": "Continuous7Days"}},
        "disableLocalAuth": True,
        "disableKeyBasedMetadataWriteAccess": True,
        "minimalTlsVersion": "Tls12",
    })
    assert_props(database, {"databaseName": "omnicloud", "resource": {"id": "omnicloud"}})
    assert {c.inputs["databaseName"] for c in stack.find(CONTAINER)} == {"omnicloud"}


# -- the container ----------------------------------------------------------------------------


def test_the_container_is_partitioned_by_the_partition_key_with_per_item_ttl(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        orders = Table("orders", ORDERS)
        container = _container(stack, "orders")
        component = stack.one("omnicloud:index:Table", "orders")
    assert container.parent == component.urn
    assert_props(container, {
        "containerName": "orders",
        "resource": {
            "id": "orders",
            "partitionKey": {"paths": ["/pk"], "kind": "Hash", "version": 2},
            "defaultTtl": -1,
        },
    })
    assert isinstance(orders.resources, AzureTableResources)


def test_without_a_ttl_attribute_items_never_expire(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Table("carts", TableArgs(partition_key="user"))
        assert "defaultTtl" not in _container(stack, "carts").inputs["resource"]


def test_composite_indexes_serve_sorted_queries_of_the_table_and_each_index(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Table("orders", ORDERS)
        container = _container(stack, "orders")
    assert_props(container, {"resource": {"indexingPolicy": {
        "automatic": True,
        "indexingMode": "consistent",
        "includedPaths": [{"path": "/*"}],
        "excludedPaths": [{"path": '/"_etag"/?'}],
    }}})
    assert container.inputs["resource"]["indexingPolicy"]["compositeIndexes"] == [
        [{"path": "/pk", "order": "ascending"}, {"path": "/sk", "order": "ascending"}],
        [{"path": "/pk", "order": "ascending"}, {"path": "/sk", "order": "descending"}],
        [{"path": "/customer", "order": "ascending"}, {"path": "/total", "order": "ascending"}],
        [{"path": "/customer", "order": "ascending"}, {"path": "/total", "order": "descending"}],
    ]


def test_a_table_without_sort_keys_has_no_composite_indexes(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Table("carts", TableArgs(partition_key="user"))
        assert "compositeIndexes" not in _container(stack, "carts").inputs["resource"]["indexingPolicy"]


def test_the_locator_names_endpoint_database_container_and_key_schema(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        orders = Table("orders", ORDERS)
        locator = stack.resolve(orders.locator)
        resource_id = stack.resolve(orders.resource_id)
        account = stack.one(ACCOUNT)
        container = _container(stack, "orders")
    assert resource_id == container.outputs["id"]
    assert locator == {
        "kind": "table",
        "cloud": "azure",
        "name": "orders",
        "endpoint": account.outputs["documentEndpoint"],
        "database": "omnicloud",
        "container": "orders",
        "partition_key": "pk",
        "sort_key": "sk",
        "key_types": {"customer": "string", "pk": "string", "sk": "string", "total": "number"},
        "indexes": [{"name": "by-customer", "partition_key": "customer", "sort_key": "total"}],
        "ttl_attribute": "expires",
    }


@pytest.mark.parametrize(
    ("name", "args", "field"),
    [
        ("orders", {"partition_key": "id"}, "key attribute"),
        ("orders", {"partition_key": "pk", "sort_key": "_ts"}, "key attribute"),
        ("orders", {"partition_key": "pk", "ttl_attribute": "ttl"}, "ttl_attribute"),
        ("or/ders", {"partition_key": "pk"}, "name"),
        ("orders", {"partition_key": "pk", "overrides": {"azure": {"nope": 1}}}, "overrides.azure.nope"),
    ],
)
def test_what_cosmos_reserves_fails_before_anything_is_registered(
    project_root: Path, name: str, args: dict[str, Any], field: str
) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        with pytest.raises(InvalidArgsError) as caught:
            Table(name, TableArgs(**args))
        assert stack.resources == []
    assert caught.value.field == field
    assert caught.value.cloud == "azure"


# -- on_change --------------------------------------------------------------------------------


def test_on_change_gets_its_own_lease_container_and_a_trigger_descriptor(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        orders = Table("orders", ORDERS)
        worker = Function("worker", FunctionArgs(handler=HANDLER))
        result = orders.on_change(worker, batch_size=50)
        leases = _container(stack, "orders-leases-worker")
        settings = _settings(stack.one(APP))
        account = stack.one(ACCOUNT)
        component = stack.one("omnicloud:index:Table", "orders")
    assert isinstance(result, AzureTableTrigger)
    assert leases.parent == component.urn
    assert_props(leases, {
        "containerName": "orders.leases.worker",
        "databaseName": "omnicloud",
        "resource": {"id": "orders.leases.worker", "partitionKey": {"paths": ["/id"], "kind": "Hash"}},
    })
    endpoint = account.outputs["documentEndpoint"]
    assert json.loads(settings["OMNICLOUD_TRIGGERS"]) == [{
        "kind": "table",
        "name": "orders",
        "database": "omnicloud",
        "container": "orders",
        "lease_container": "orders.leases.worker",
        "endpoint": endpoint,
        "batch_size": 50,
    }]
    assert settings["OMNICLOUD_COSMOS__accountEndpoint"] == endpoint


def test_the_trigger_reads_the_change_feed_and_owns_only_its_leases(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        orders = Table("orders", ORDERS)
        worker = Function("worker", FunctionArgs(handler=HANDLER))
        orders.on_change(worker)
        feed = stack.one(ROLE_ASSIGNMENT, "worker-on-table-orders")
        leases = stack.one(ROLE_ASSIGNMENT, "worker-on-table-orders-leases")
        account_id = stack.one(ACCOUNT).outputs["id"]
        principal = stack.resolve(worker.identity)
        roles = (_role_of(stack, feed), _role_of(stack, leases))
    assert feed.inputs["scope"] == f"{account_id}/dbs/omnicloud/colls/orders"
    assert leases.inputs["scope"] == f"{account_id}/dbs/omnicloud/colls/orders.leases.worker"
    assert roles == ("change-feed", "leases")
    assert feed.inputs["principalId"] == principal == leases.inputs["principalId"]


def test_two_functions_on_one_table_never_share_leases(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        orders = Table("orders", ORDERS)
        orders.on_change(Function("audit", FunctionArgs(handler=HANDLER)))
        orders.on_change(Function("mailer", FunctionArgs(handler=HANDLER)))
        names = sorted(c.inputs["containerName"] for c in stack.find(CONTAINER))
    assert names == ["orders", "orders.leases.audit", "orders.leases.mailer"]


# -- links ------------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["read", "write", "delete"])
def test_each_verb_is_its_own_data_role_at_the_container(project_root: Path, verb: str) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        orders = Table("orders", ORDERS)
        api = Function("api", FunctionArgs(handler=HANDLER, links=[orders.allow(verb)]))
        (assignment,) = stack.find(ROLE_ASSIGNMENT)
        account_id = stack.one(ACCOUNT).outputs["id"]
        principal = stack.resolve(api.identity)
        role = _role_of(stack, assignment)
        (definition,) = stack.find(ROLE_DEFINITION)
    assert assignment.name == f"api-table-orders-{verb}"
    assert role == verb
    assert assignment.inputs["scope"] == f"{account_id}/dbs/omnicloud/colls/orders"
    assert assignment.inputs["principalId"] == principal
    assert_props(definition, {
        "type": "CustomRole",
        "assignableScopes": [account_id],
        "permissions": [{"dataActions": list(COSMOS_DATA_ACTIONS[verb])}],
    })


def test_write_does_not_allow_delete_and_no_data_action_is_a_wildcard() -> None:
    assert not any(action.endswith("/delete") for action in COSMOS_DATA_ACTIONS["write"])
    changes = ("/create", "/replace", "/upsert", "/delete")
    assert not any(action.endswith(changes) for action in COSMOS_DATA_ACTIONS["read"])
    assert all("*" not in action for actions in COSMOS_DATA_ACTIONS.values() for action in actions)


def test_role_definitions_exist_once_per_stack_and_assignments_have_stable_guids(project_root: Path) -> None:
    ids: list[list[str]] = []
    for _ in range(2):
        with MockStack(cloud="azure", root=project_root) as stack:
            orders = Table("orders", ORDERS)
            carts = Table("carts", TableArgs(partition_key="user"))
            Function("api", FunctionArgs(handler=HANDLER, links=[orders.allow("read"), carts.allow("read")]))
            assert len(stack.find(ROLE_DEFINITION)) == 1
            ids.append(sorted(a.inputs["roleAssignmentId"] for a in stack.find(ROLE_ASSIGNMENT)))
    assert ids[0] == ids[1] and len(set(ids[0])) == 2
