"""The Azure verb table and the least-privilege policy over everything the providers register."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components import EventBus, Function, FunctionArgs, Queue, QueueArgs, Table, TableArgs
from components.errors import InvalidArgsError
from components.links import Link
from components.testing import MockStack, RecordedResource
from providers.azure import grants, roles

ROLE = "azure-native:authorization:RoleAssignment"
COSMOS_ROLE = "azure-native:cosmosdb:SqlResourceSqlRoleAssignment"
COSMOS_DEFINITION = "azure-native:cosmosdb:SqlResourceSqlRoleDefinition"
HANDLER = "functions.api.handle"
# A scope that is a whole subscription or resource group, never a single resource.
BROAD_SCOPE = re.compile(r"^/subscriptions/[^/]+(/resourceGroups/[^/]+)?/?$", re.IGNORECASE)


def _example_app() -> None:
    """The issue's example program: every kind of link and trigger on Azure."""
    orders = Table("orders", TableArgs(partition_key="pk", sort_key="sk", ttl_attribute="expires"))
    jobs = Queue("jobs", QueueArgs(visibility_timeout_s=60, max_receive_count=5))
    events = EventBus("events")
    Function("api", FunctionArgs(
        handler=HANDLER, http="public",
        links=[orders.allow("read", "write"), jobs.allow("send"), events.allow("publish")],
    ))
    worker = Function("worker", FunctionArgs(handler=HANDLER, links=[orders.allow("write")]))
    jobs.subscribe(worker, batch_size=10)
    events.subscribe("on-order", worker, pattern={"type": ["order.created"]})
    events.subscribe("to-jobs", jobs, pattern={"source": [{"prefix": "shop/"}]})
    orders.on_change(worker)


# -- the verb table ---------------------------------------------------------------------------


@pytest.mark.parametrize("component", [Queue, EventBus, Table, Function])
def test_the_verb_table_covers_every_verb_of_every_component(component: type) -> None:
    assert set(grants.VERB_TABLE[component.KIND]) == set(component.VERBS)


def test_every_rbac_role_in_the_table_is_a_known_built_in_data_role() -> None:
    for verbs in grants.VERB_TABLE.values():
        for granted in verbs.values():
            for role in granted:
                known = roles.BUILT_IN_ROLES if role.plane == "rbac" else roles.COSMOS_DATA_ACTIONS
                assert role.name in known


def test_a_link_to_a_kind_azure_cannot_grant_fails_before_deploy() -> None:
    class Notebook:
        KIND = "notebook"
        logical_name = "scratch"

    with pytest.raises(InvalidArgsError, match="cannot grant access to a notebook"):
        grants.check_links("Function 'api'", [Link(Notebook(), ("read",))])


def test_a_link_to_an_unknown_verb_fails_before_deploy() -> None:
    class Workflow:
        KIND = "workflow"
        logical_name = "checkout"

    with pytest.raises(InvalidArgsError, match=r"verbs on a workflow are \('start',\)"):
        grants.check_links("Function 'api'", [Link(Workflow(), ("stop",))])


def test_a_link_to_another_cloud_fails_before_anything_is_registered(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        local_jobs = Queue("jobs", cloud="local")
        before = len(stack.find())
        with pytest.raises(InvalidArgsError, match="links must stay on azure"):
            Function("api", FunctionArgs(handler=HANDLER, links=[local_jobs.allow("send")]))
        assert len(stack.find()) == before


def test_invoke_grants_nothing_on_azure_but_still_injects_the_locator(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        target = Function("target", FunctionArgs(handler=HANDLER, http="public"))
        Function("caller", FunctionArgs(handler=HANDLER, links=[target.allow("invoke")]))
        caller = next(r for r in stack.find("azure-native:web:WebApp") if r.name == "caller")
        settings = {p["name"] for p in caller.inputs["siteConfig"]["appSettings"]}
        assigned = sorted(r.name for r in stack.find(ROLE))
    assert assigned == ["caller-host-storage", "target-host-storage"]
    assert "OMNICLOUD_LINK_FUNCTION_TARGET" in settings


# -- the policy over a whole program ----------------------------------------------------------


def _assignments(stack: MockStack) -> list[RecordedResource]:
    return stack.find(ROLE) + stack.find(COSMOS_ROLE)


def test_no_role_assignment_is_scoped_to_a_subscription_or_resource_group(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        _example_app()
        assignments = _assignments(stack)
    assert len(assignments) >= 12
    for assignment in assignments:
        scope = assignment.inputs["scope"]
        assert not BROAD_SCOPE.match(scope), f"{assignment.name} is scoped to {scope}"
        assert "/providers/" in scope


def test_cosmos_assignments_are_scoped_to_one_container(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        _example_app()
        scopes = [a.inputs["scope"] for a in stack.find(COSMOS_ROLE)]
    assert scopes and all(re.search(r"/dbs/omnicloud/colls/[^/]+$", scope) for scope in scopes)


def test_every_role_is_a_named_data_role_and_no_data_action_is_a_wildcard(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        _example_app()
        rbac = stack.find(ROLE)
        definitions = stack.find(COSMOS_DEFINITION)
    allowed = set(roles.BUILT_IN_ROLES.values())
    assert {a.inputs["roleDefinitionId"].rsplit("/", 1)[-1] for a in rbac} <= allowed
    for definition in definitions:
        (permission,) = definition.inputs["permissions"]
        assert permission["dataActions"] and all("*" not in action for action in permission["dataActions"])


def test_every_grant_traces_back_to_a_verb_or_trigger(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        _example_app()
        names = sorted(a.name for a in _assignments(stack))
        descriptions = [a.inputs.get("description", "") for a in stack.find(ROLE)]
    assert names == sorted([
        # links: <function>-<kind>-<target>-<verb>
        "api-table-orders-read", "api-table-orders-write", "api-queue-jobs-send", "api-bus-events-publish",
        "worker-table-orders-write",
        # triggers of worker
        "worker-on-queue-jobs", "worker-on-table-orders", "worker-on-table-orders-leases",
        # Event Grid's own identity: dead letters, and the queue it delivers to
        "events-dead-letters", "events-to-queue-jobs",
        # Functions host storage (the Function provider)
        "api-host-storage", "worker-host-storage",
    ])
    assert all(d.startswith("omnicloud:") or d.startswith("Host storage") for d in descriptions)


def test_stable_guids_depend_on_every_part() -> None:
    assert roles.stable_guid("a", "b") == roles.stable_guid("a", "b")
    assert roles.stable_guid("a", "b") != roles.stable_guid("a", "c")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", roles.stable_guid("x"))
