"""Workflow on GCP: a Cloud Workflows workflow compiled from the portable definition.

What gets registered (children of the component):

* ``gcp:serviceaccount/account:Account`` ``<name>-sa``: the workflow's own identity.
* ``gcp:cloudrunv2/serviceIamMember:ServiceIamMember`` ``<name>-invoke-<function>``:
  ``roles/run.invoker`` for that identity on exactly the Cloud Run service of each function a
  task calls. A *public* function checks the caller itself (it accepts anyone through IAM),
  so the identity's e-mail also goes into that function's ``OMNICLOUD_TASK_CALLERS``.
* ``gcp:projects/iAMMember:IAMMember`` ``<name>-log-writer``: ``roles/logging.logWriter`` on
  the project, which Workflows call logging requires of the workflow's service account (log
  entries have no narrower IAM scope).
* ``gcp:workflows/workflow:Workflow`` ``<name>``: in the stack's region, running as that
  account, the YAML from :func:`providers.gcp.workflows_yaml.compile_workflow`, call logging
  ``LOG_ERRORS_ONLY``, deletion protection off (``pulumi destroy`` removes it like every other
  omnicloud resource).

Each task is an ``http.post`` with an OIDC token (audience: the function's URL) to
``<function url>/_omnicloud/task`` (:mod:`components.runtime.orchestration.task`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from components.errors import require
from components.workflow import WorkflowArgs
from providers.gcp import grants, naming
from providers.gcp.stack import scope, stack_resources
from providers.gcp.workflows_yaml import check_definition, compile_workflow
from providers.protocols import ComponentOutputs
from providers.shared import apply_overrides, tags_for, task_callers_of

CLOUD = "gcp"
LIMITATIONS = {
    "first_failure_in_order": (
        "branches and Map iterations run concurrently; when several fail, Cloud Workflows raises the one that "
        "failed first in time, not the first in order"
    ),
}
"""Semantic gaps the support matrix states (``tests/contract/test_workflow_features.py``)."""
WORKFLOW_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
WORKFLOW_NAME_MAX = 64
"""Workflows IDs: a letter first, then letters, digits, '-' and '_', at most 64 characters."""
CALL_LOG_LEVEL = "LOG_ERRORS_ONLY"
LOG_WRITER_ROLE = "roles/logging.logWriter"


@dataclass(frozen=True)
class GcpWorkflowResources:
    """The native resources behind a Workflow on GCP."""

    workflow: gcp.workflows.Workflow
    service_account: gcp.serviceaccount.Account
    invokers: tuple[pulumi.CustomResource, ...]
    log_writer: gcp.projects.IAMMember


class GcpWorkflowProvider:
    """Builds :class:`components.Workflow` on Cloud Workflows."""

    LIMITATIONS = LIMITATIONS

    def validate(self, name: str, args: WorkflowArgs) -> None:
        component = f"Workflow '{name}'"
        limit = WORKFLOW_NAME_MAX - naming.AUTONAME_SUFFIX
        require(
            bool(WORKFLOW_NAME.match(name)) and len(name) <= limit,
            component,
            "name",
            name,
            f"a letter, then letters, digits, '-' and '_', at most {limit} characters (workflow IDs are at "
            f"most {WORKFLOW_NAME_MAX} and Pulumi adds an {naming.AUTONAME_SUFFIX}-character suffix)",
            cloud=CLOUD,
        )
        naming.check_labels(component, tags_for(name, args))
        check_definition(args.definition())
        apply_overrides(component, CLOUD, gcp.workflows.Workflow, {}, args.overrides)

    def create(
        self, name: str, args: WorkflowArgs, functions: Mapping[str, Any], parent: pulumi.ComponentResource
    ) -> ComponentOutputs:
        from providers.gcp.function import run_uri

        component = f"Workflow '{name}'"
        child = pulumi.ResourceOptions(parent=parent)
        shared = stack_resources()
        account = gcp.serviceaccount.Account(
            f"{name}-sa",
            account_id=naming.service_account_id(scope(), name, "wf"),
            display_name=f"omnicloud Workflow '{name}'"[:100],
            description=f"Identity of omnicloud Workflow '{name}' (stack {pulumi.get_stack()})",
            opts=child,
        )
        invokers: list[pulumi.CustomResource] = []
        urls: dict[str, pulumi.Output[str]] = {}
        for logical, function in sorted(functions.items()):
            invokers.append(grants.grant_one(f"{name}-invoke-{logical}", function, "invoke", account, child))
            urls[logical] = run_uri(function.resources.function)
            if function.args.http == "public":
                task_callers_of(function).add(account.email)
        log_writer = gcp.projects.IAMMember(
            f"{name}-log-writer",
            project=account.project,
            role=LOG_WRITER_ROLE,
            member=account.member,
            opts=child,
        )
        definition = args.definition()
        source = pulumi.Output.all(**urls).apply(
            lambda resolved: compile_workflow(definition, resolved, workflow=name)
        )
        workflow_kwargs = apply_overrides(
            component,
            CLOUD,
            gcp.workflows.Workflow,
            {
                "region": shared.region,
                "description": f"omnicloud Workflow '{name}' (stack {pulumi.get_stack()})",
                "service_account": account.id,
                "source_contents": source,
                "call_log_level": CALL_LOG_LEVEL,
                "deletion_protection": False,
                "labels": naming.labels(tags_for(name, args)),
            },
            args.overrides,
        )
        # Tasks must be allowed to call their functions before the first execution.
        workflow = gcp.workflows.Workflow(
            name, **workflow_kwargs, opts=pulumi.ResourceOptions(parent=parent, depends_on=[*invokers, log_writer])
        )
        return ComponentOutputs(
            name=workflow.name,
            resource_id=workflow.id,
            locator=workflow.id.apply(lambda full: {"kind": "workflow", "cloud": CLOUD, "name": name, "id": full}),
            resources=GcpWorkflowResources(
                workflow=workflow, service_account=account, invokers=tuple(invokers), log_writer=log_writer
            ),
        )
