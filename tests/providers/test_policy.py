"""Least privilege, checked over every resource the example app records on each cloud.

* no wildcard action or resource (AWS), no subscription- or resource-group-wide role
  assignment (Azure), no unconditioned project-wide binding (GCP);
* every grant traces back to a verb the program declared in ``links`` or to a trigger /
  feature it used (schedule, logs, dead letters).
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from components.preview import PreviewResult, preview_stack
from tests.conftest import REPO_ROOT

# What the example program declares (__main__.py): links per function, and triggers.
LINKS = {
    "api": {("table", "read"), ("table", "write"), ("queue", "send"), ("bus", "publish"), ("workflow", "start")},
    "worker": {("table", "read"), ("table", "write")},
    "audit": {("table", "write")},
    "nightly": set(),
    "pricing": set(),
    "inventory": set(),
    "payments": {("table", "read"), ("table", "write")},
    "notifier": {("bus", "publish")},
}
TRIGGERS = {fn: set() for fn in LINKS} | {"worker": {"queue", "bus"}, "audit": {"table"}}
SCHEDULED = {"nightly"}
WORKFLOW_TASKS = {"checkout": {"pricing", "inventory", "payments", "notifier"}}
"""The functions each workflow's tasks call (a workflow grants itself exactly these)."""


@pytest.fixture(scope="module")
def aws() -> PreviewResult:
    return preview_stack("dev-aws", REPO_ROOT)


def _function_of_role(result: PreviewResult) -> dict[str, str]:
    """Role physical name -> the function component it belongs to."""
    by_urn = {r.urn: r for r in result.resources}
    roles = {}
    for resource in result.resources:
        if resource.type == "aws:iam/role:Role":
            component = by_urn.get(resource.parent or "")
            roles[resource.outputs["name"]] = component.name if component else "?"
    return roles


def _statements(result: PreviewResult):
    roles = _function_of_role(result)
    for resource in result.resources:
        if resource.type == "aws:iam/rolePolicy:RolePolicy":
            function = roles[resource.inputs["role"].split("/")[-1]]
            for statement in json.loads(resource.inputs["policy"])["Statement"]:
                yield function, resource, statement


def _as_list(value) -> list[str]:
    return value if isinstance(value, list) else [value]


def test_aws_policies_have_no_wildcard_action_or_resource(aws):
    for function, policy, statement in _statements(aws):
        assert statement["Effect"] == "Allow"
        for action in _as_list(statement["Action"]):
            assert "*" not in action, (function, policy.name, action)
        for resource in _as_list(statement["Resource"]):
            # The one sanctioned form: the log streams of the function's own log group.
            if statement.get("Sid") == "FunctionLogs":
                assert resource.endswith(f"/{function}:*") and resource.count("*") == 1
            # Step Functions' log-delivery APIs take no resource ARN (documented exception).
            elif statement.get("Sid") == "WorkflowLogDelivery":
                assert resource == "*" and all(a.startswith("logs:") for a in _as_list(statement["Action"]))
                assert not any(a in ("logs:PutLogEvents", "logs:GetLogEvents") for a in _as_list(statement["Action"]))
            else:
                assert "*" not in resource, (function, policy.name, resource)


def test_aws_uses_no_managed_policies(aws):
    types = {r.type for r in aws.resources}
    assert "aws:iam/rolePolicyAttachment:RolePolicyAttachment" not in types
    assert "aws:iam/policyAttachment:PolicyAttachment" not in types
    for role in (r for r in aws.resources if r.type == "aws:iam/role:Role"):
        assert not role.inputs.get("managedPolicyArns")


def test_every_aws_grant_traces_to_a_declared_verb_trigger_or_feature(aws):
    granted: dict[str, set[str]] = defaultdict(set)
    for function, _, statement in _statements(aws):
        assert statement.get("Sid"), f"{function}: a statement without a Sid cannot be traced"
        granted[function].add(statement["Sid"])
    for function in LINKS:
        expected = {"FunctionLogs"}
        expected |= {f"Link{kind.title()}{verb.title()}" for kind, verb in LINKS[function]}
        expected |= {f"Trigger{kind.title()}Consume" for kind in TRIGGERS[function] if kind != "bus"}
        if TRIGGERS[function]:
            expected.add("TriggerDeadLetterSend")
        if function in SCHEDULED:
            # The function's async failures, and its scheduler role (a child of the same
            # component) invoking exactly this function and dead-lettering.
            expected |= {"ScheduleAsyncDeadLetter", "ScheduleInvoke", "ScheduleDeadLetter"}
        assert granted[function] == expected, function


def test_aws_workflow_role_invokes_exactly_its_task_functions(aws):
    lambdas = {r.name: r.outputs["arn"] for r in aws.resources if r.type == "aws:lambda/function:Function"}
    for workflow, tasks in WORKFLOW_TASKS.items():
        statements = [s for fn, _, s in _statements(aws) if fn == workflow]
        invoke = [s for s in statements if s["Sid"].startswith("WorkflowTaskInvoke")]
        assert {s["Sid"] for s in statements} == {"WorkflowLogDelivery"} | {
            f"WorkflowTaskInvoke{task.title()}" for task in tasks
        }
        assert all(s["Action"] == ["lambda:InvokeFunction"] for s in invoke)
        assert sorted(r for s in invoke for r in _as_list(s["Resource"])) == sorted(lambdas[task] for task in tasks)


# -- Azure ----------------------------------------------------------------------------------------

AZURE_ASSIGNMENTS = {"azure-native:authorization:RoleAssignment", "azure-native:cosmosdb:SqlResourceSqlRoleAssignment"}


@pytest.fixture(scope="module")
def azure() -> PreviewResult:
    return preview_stack("dev-azure", REPO_ROOT)


def test_azure_role_assignments_are_scoped_to_single_resources(azure):
    for assignment in (r for r in azure.resources if r.type in AZURE_ASSIGNMENTS):
        scope = assignment.inputs["scope"]
        parts = scope.strip("/").split("/")
        # /subscriptions/<id> and /subscriptions/<id>/resourceGroups/<rg> are refused outright.
        assert len(parts) > 4 and "providers" in parts, (assignment.name, scope)
        if assignment.type.endswith("SqlResourceSqlRoleAssignment"):
            assert "/colls/" in scope, (assignment.name, scope)


def test_every_azure_assignment_traces_to_a_declared_verb_trigger_or_feature(azure):
    names = {r.name for r in azure.resources if r.type in AZURE_ASSIGNMENTS}
    expected = {f"{fn}-host-storage" for fn in [*LINKS, *WORKFLOW_TASKS]}  # identity-based host storage, per app
    # The Durable Task hub's queues and tables, per workflow app.
    expected |= {f"{wf}-durable-{kind}" for wf in WORKFLOW_TASKS for kind in ("queues", "tables")}
    expected |= {f"{fn}-{kind}-{target}-{verb}" for fn, kind, target, verb in _declared_links()}
    expected |= {"worker-on-queue-jobs", "audit-on-table-orders", "audit-on-table-orders-leases"}
    expected |= {"events-dead-letters"}  # the bus's dead-letter container, written by the topic
    assert names == expected


# -- GCP ------------------------------------------------------------------------------------------

# Project-level roles that GCP grants nowhere narrower (see docs/event-bus.md, docs/table.md).
# Also Workflows (no per-workflow IAM) and its call logging (log entries have no narrower scope).
GCP_PROJECT_ROLES = {
    "roles/eventarc.messageBusUser",
    "roles/eventarc.eventReceiver",
    "roles/workflows.invoker",
    "roles/logging.logWriter",
}


@pytest.fixture(scope="module")
def gcp() -> PreviewResult:
    return preview_stack("dev-gcp", REPO_ROOT)


def _gcp_bindings(result: PreviewResult):
    return [r for r in result.resources if "IAMMember" in r.type or "iamMember" in r.type or "IamMember" in r.type]


def test_gcp_project_bindings_are_conditioned_or_the_documented_exceptions(gcp):
    for binding in _gcp_bindings(gcp):
        if binding.type == "gcp:projects/iAMMember:IAMMember":
            condition = binding.inputs.get("condition")
            if binding.inputs["role"] in GCP_PROJECT_ROLES:
                continue
            assert condition and "databases/" in condition["expression"], (binding.name, binding.inputs)
    assert not [
        r for r in gcp.resources if r.type in ("gcp:projects/iAMBinding:IAMBinding", "gcp:projects/iAMPolicy:IAMPolicy")
    ]


def test_every_gcp_binding_traces_to_a_declared_verb_trigger_or_feature(gcp):
    names = {binding.name for binding in _gcp_bindings(gcp)}
    expected = {f"{fn}-{kind}-{target}-{verb}" for fn, kind, target, verb in _declared_links()}
    expected |= {"jobs-push-invoker", "jobs-push-token"}  # jobs.subscribe(worker)
    expected |= {"events-on-order"}  # events.subscribe("on-order", worker)
    expected |= {"orders-audit-changes"}  # orders.on_change(audit)
    expected |= {"nightly-scheduler"}  # nightly's schedule
    expected |= {"api-public"}  # api is http="public"
    expected |= {"jobs-dlq-agent", "jobs-agent"}  # the queue's dead-lettering by the Pub/Sub agent
    # Each workflow: run.invoker on each task function's service, and its call logging.
    expected |= {f"{wf}-invoke-{task}" for wf, tasks in WORKFLOW_TASKS.items() for task in tasks}
    expected |= {f"{wf}-log-writer" for wf in WORKFLOW_TASKS}
    assert names == expected


def _declared_links():
    targets = {"table": "orders", "queue": "jobs", "bus": "events", "workflow": "checkout"}
    for fn, links in LINKS.items():
        for kind, verb in links:
            yield fn, kind, targets[kind], verb
