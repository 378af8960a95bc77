"""Workflow on Azure: a Durable Functions app whose one generic orchestrator runs the portable
definition with the same interpreter core as the local target.

What gets registered (children of the component):

* the Flex Consumption app ``<name>`` and what it runs on (:mod:`providers.azure.flex_app`),
  with a package of the omnicloud runtime, the orchestrator app's entry files
  (:mod:`components.runtime.adapters.azure_workflow`) and ``workflow.json``, the definition.
  Its vendored dependencies are the Functions worker and the Durable Functions SDK.
* ``azure-native:storage:Queue`` ``<name>-start``: where ``runtime.workflow(name).start()``
  drops ``{"id", "input"}``; a queue trigger in the app starts the orchestration with that
  instance id (a caller needs only *Storage Queue Data Message Sender* on this queue, which
  ``workflow.allow("start")`` grants, and no key).
* ``azure-native:authorization:RoleAssignment`` ``<name>-durable-queues`` and
  ``<name>-durable-tables``: Storage Queue Data Contributor and Storage Table Data Contributor
  on the stack's storage account, which the Durable Task hub (Azure Storage provider, on
  identity-based ``AzureWebJobsStorage``) needs besides the host's blob role.

Tasks: the ``omnicloud_task`` activity POSTs the task envelope to
``https://<function host>/_omnicloud/task``, an HTTP route with function-key auth on every
omnicloud function app. The key is the target app's ``default`` host function key, read at
deploy time (``listWebAppHostKeys``) into the secret app setting ``OMNICLOUD_WORKFLOW_TARGETS``;
Pulumi keeps it secret in state. The key exists once the target's host has started: the first
deployment of a brand-new target can fail to read it, and a second ``pulumi up`` succeeds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import authorization, storage, web

from components.errors import require
from components.packaging import ArchiveSpec, BuiltArchive, Vendored, build_archive
from components.workflow import WorkflowArgs
from providers.azure import naming, roles
from providers.azure.flex_app import FlexApp, FlexAppSpec, flex_app
from providers.azure.function import (
    DEFAULT_MAX_INSTANCES,
    LOG_RETENTION_DAYS,
    PYTHON_VERSIONS,
    SITE_PACKAGES,
    WHEEL_PLATFORMS,
    check_tags,
)
from providers.azure.stack import stack_resources
from providers.protocols import ComponentOutputs
from providers.shared import apply_overrides, tags_for

CLOUD = "azure"
LIMITATIONS = {
    "timer_precision": (
        "Durable timers (Wait, retry back-off) can fire up to the queue polling interval (30 s by default) late "
        "when the app is idle"
    ),
    "task_once_per_attempt": (
        "activities are at-least-once: a worker lost mid-call re-runs the activity, so the function can be "
        "called twice for one attempt"
    ),
}
"""Semantic gaps the support matrix states (``tests/contract/test_workflow_features.py``)."""
PYTHON_VERSION = PYTHON_VERSIONS["python3.11"]
MEMORY_MB = 2048
"""The orchestrator replays small JSON documents; Flex's default instance size is plenty."""
QUEUE_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$")
QUEUE_NAME_MAX = 63
DURABLE_ROLES = {"queues": "Storage Queue Data Contributor", "tables": "Storage Table Data Contributor"}
DEFINITION_FILE = "workflow.json"


@dataclass(frozen=True)
class AzureWorkflowResources:
    """The native resources behind a Workflow on Azure."""

    app: FlexApp
    start_queue: storage.Queue
    durable_roles: tuple[authorization.RoleAssignment, ...]


def start_queue_name(name: str) -> str:
    """``wf-<name>-start``, lower-cased: Storage queue names are lowercase, digits and single '-'."""
    return f"wf-{re.sub(r'-+', '-', re.sub(r'[^a-z0-9-]', '-', name.lower())).strip('-')}-start"


class AzureWorkflowProvider:
    """Builds :class:`components.Workflow` on Durable Functions (Flex Consumption)."""

    LIMITATIONS = LIMITATIONS

    def validate(self, name: str, args: WorkflowArgs) -> None:
        component = f"Workflow '{name}'"
        naming.check_function_name(component, name)
        queue = start_queue_name(name)
        require(
            bool(QUEUE_NAME.match(queue)) and len(queue) <= QUEUE_NAME_MAX,
            component,
            "name",
            name,
            f"its start queue '{queue}' must be a Storage queue name: 3-{QUEUE_NAME_MAX} lowercase letters, "
            "digits and single hyphens",
            cloud=CLOUD,
        )
        require(
            args.log_retention_days in LOG_RETENTION_DAYS,
            component,
            "log_retention_days",
            args.log_retention_days,
            f"Application Insights retention is one of {LOG_RETENTION_DAYS} days",
            cloud=CLOUD,
        )
        check_tags(component, name, args)
        _check_task_timeouts(component, args.definition())
        apply_overrides(component, CLOUD, web.WebApp, {}, args.overrides)

    def create(
        self, name: str, args: WorkflowArgs, functions: Mapping[str, Any], parent: pulumi.ComponentResource
    ) -> ComponentOutputs:
        from components.runtime.adapters import azure_workflow as adapter

        component = f"Workflow '{name}'"
        child = pulumi.ResourceOptions(parent=parent)
        shared = stack_resources()
        account = shared.storage_account
        tags = tags_for(name, args)
        archive = _package(component, args)
        start_queue = storage.Queue(
            f"{name}-start",
            resource_group_name=shared.resource_group.name,
            account_name=account.name,
            queue_name=start_queue_name(name),
            opts=child,
        )
        queue_service = account.primary_endpoints.apply(lambda endpoints: endpoints.queue.rstrip("/"))
        targets = _targets(functions)

        def settings(insights: Any) -> pulumi.Output[list[web.NameValuePairArgs]]:
            values: dict[str, pulumi.Input[str]] = {
                "AzureWebJobsStorage__accountName": account.name,
                "APPLICATIONINSIGHTS_CONNECTION_STRING": insights.connection_string,
                "OMNICLOUD_PACKAGE_SHA256": archive.sha256,
                "OMNICLOUD_CLOUD": CLOUD,
                "OMNICLOUD_WORKFLOW": name,
                adapter.START_QUEUE_SETTING: start_queue.name,
                f"{adapter.START_CONNECTION}__queueServiceUri": queue_service,
                adapter.TARGETS_SETTING: targets,
            }
            return pulumi.Output.all(**values).apply(
                lambda resolved: [web.NameValuePairArgs(name=key, value=value) for key, value in resolved.items()]
            )

        app = flex_app(
            FlexAppSpec(
                name=name,
                component=component,
                archive=archive,
                python_version=PYTHON_VERSION,
                memory_mb=MEMORY_MB,
                max_instances=DEFAULT_MAX_INSTANCES,
                always_ready=None,
                log_retention_days=args.log_retention_days,
                tags=tags,
                overrides=args.overrides,
            ),
            settings,
            parent,
        )
        durable_roles = tuple(
            authorization.RoleAssignment(
                f"{name}-durable-{kind}",
                principal_id=app.principal_id,
                principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                role_definition_id=roles.role_definition_id(role, account.id),
                scope=account.id,
                description=f"Durable Task hub of omnicloud {component} ({kind})",
                opts=child,
            )
            for kind, role in DURABLE_ROLES.items()
        )
        locator = pulumi.Output.all(queue_service, start_queue.name).apply(
            lambda values: {
                "kind": "workflow",
                "cloud": CLOUD,
                "name": name,
                "queue_url": f"{values[0]}/{values[1]}",
            }
        )
        return ComponentOutputs(
            name=app.app.name,
            resource_id=app.app.id,
            locator=locator,
            resources=AzureWorkflowResources(app=app, start_queue=start_queue, durable_roles=durable_roles),
        )


def _check_task_timeouts(component: str, definition: dict[str, Any]) -> None:
    """A task is an HTTP call, and Azure's front end ends any HTTP request after 230 s: a longer
    ``timeout_s`` could never be honoured (the call would fail as a 5xx before it)."""
    from components.runtime.adapters.azure_workflow import HTTP_RESPONSE_LIMIT_S
    from components.runtime.orchestration.definition import iter_steps

    for path, step in iter_steps(definition["steps"]):
        timeout = step.get("timeout_s") if step["type"] == "Task" else None
        require(
            timeout is None or timeout <= HTTP_RESPONSE_LIMIT_S,
            component,
            f"{path}.timeout_s",
            timeout,
            f"at most {HTTP_RESPONSE_LIMIT_S} s: a task is an HTTP call to the function, and Azure's front "
            f"end ends HTTP requests after {HTTP_RESPONSE_LIMIT_S} s",
            cloud=CLOUD,
        )


def _package(component: str, args: WorkflowArgs) -> BuiltArchive:
    from components.runtime.adapters import azure_workflow as adapter

    return build_archive(
        ArchiveSpec(
            handler=None,
            dependencies=Vendored(
                platforms=WHEEL_PLATFORMS,
                python_version=PYTHON_VERSION,
                target_dir=SITE_PACKAGES,
                always=adapter.REQUIREMENTS,
            ),
            entry_files={
                **adapter.entry_files(),
                DEFINITION_FILE: json.dumps(args.definition(), indent=2, sort_keys=True) + "\n",
            },
        ),
        component=component,
    )


def _targets(functions: Mapping[str, Any]) -> pulumi.Output[str]:
    """``{"<function>": {"url", "key"}}`` as JSON, secret: where and how each task is called."""
    entries: dict[str, pulumi.Output[dict[str, str]]] = {}
    for logical, function in sorted(functions.items()):
        app = function.resources.app
        keys = web.list_web_app_host_keys_output(
            name=app.name, resource_group_name=function.resources.stack.resource_group.name
        )
        entries[logical] = pulumi.Output.all(app.default_host_name, keys.function_keys).apply(
            lambda values: {"url": f"https://{values[0]}", "key": (values[1] or {}).get("default", "")}
        )
    return pulumi.Output.secret(pulumi.Output.all(**entries).apply(lambda found: json.dumps(found, sort_keys=True)))
