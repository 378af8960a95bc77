"""Function on Azure: a Function App on its own Linux Flex Consumption plan.

What gets registered (children of the component; shared ones live in :mod:`.stack`):

* ``azure-native:web:AppServicePlan`` ``<name>-plan``: FC1 / FlexConsumption, Linux. One plan
  per Function because instance memory and scale limits are per-app settings on Flex.
* ``azure-native:storage:BlobContainer`` ``<name>-deploy``: the app's deployment container in
  the stack's storage account, private.
* ``azure-native:storage:Blob`` ``<name>-package``: ``released-package.zip``, the deterministic
  archive with dependencies vendored under ``.python_packages/lib/site-packages`` (a package
  deployed from a blob gets no remote build, and that directory is on the Python worker's
  ``sys.path``).
* ``azure-native:applicationinsights:Component`` ``<name>-insights``: workspace-based
  Application Insights on the stack's Log Analytics workspace.
* ``azure-native:web:WebApp`` ``<name>``: the Function App (``functionapp,linux``), HTTPS only,
  system-assigned identity, identity-based host storage, package read from the container with
  that identity, scale and always-ready settings, app settings from the environment and
  secrets (secrets stay Pulumi secrets).
* ``azure-native:authorization:RoleAssignment`` ``<name>-host-storage``: Storage Blob Data
  Owner for the app's identity on the stack storage account, which identity-based
  AzureWebJobsStorage requires, and nothing broader.

* ``azure-native:authorization:RoleAssignment`` / ``azure-native:cosmosdb:SqlResourceSqlRoleAssignment``
  ``<name>-<kind>-<target>-<verb>``: one per verb of each link, from the verb table in
  :mod:`.grants`, at the linked resource's scope.

App settings also carry ``OMNICLOUD_TRIGGERS`` (the JSON list of trigger descriptors that
``queue.subscribe``, ``bus.subscribe`` and ``table.on_change`` add, ``[]`` when none; the
adapter registers one function per descriptor) and, when a descriptor needs it, the trigger's
identity-based connection: ``OMNICLOUD_SB__fullyQualifiedNamespace`` (Service Bus triggers) and
``OMNICLOUD_COSMOS__accountEndpoint`` (Cosmos DB triggers). These must be real app settings:
the Functions host and the scale controller, not the Python worker, open trigger connections.
Because subscriptions are declared after the Function, the app settings resolve once the
program body has run.

``http`` adds no resource: the HTTP trigger lives in the package (``function_app.py``), with
function-key auth for ``private``; the URL is ``https://<default host name>/``.
``schedule`` adds no resource either: it becomes a timer trigger with the translated NCRONTAB
expression (UTC).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_azure_native import applicationinsights, authorization, storage, web

from components.errors import InvalidArgsError, require
from components.function_args import FunctionArgs
from components.packaging import ArchiveSpec, BuiltArchive, Vendored, build_archive
from components.schedule import parse_schedule
from providers.azure import grants, naming
from providers.azure.flex_app import FlexAppSpec, flex_app
from providers.azure.schedule import UnsupportedSchedule, to_ncrontab
from providers.azure.stack import AzureStackResources, stack_resources
from providers.protocols import FunctionOutputs
from providers.shared import (
    TRIGGERS_ENV,
    apply_overrides,
    cross_cloud_links,
    runtime_environment,
    secret_environment,
    tags_for,
    triggers_of,
)

CLOUD = "azure"

# Flex Consumption limits (learn.microsoft.com/azure/azure-functions/flex-consumption-plan,
# "Instance memory", "Considerations"; functions-scale.md, "Function app timeout duration").
MEMORY_MB = (512, 2048, 4096)
MAX_INSTANCES = (40, 1000)
"""The lowest and highest maximum instance count Flex Consumption accepts."""
DEFAULT_MAX_INSTANCES = 100
"""What Azure's own tools set when no limit is given."""
HTTP_TIMEOUT_MAX_S = 230
"""The front-end load balancer ends any HTTP request after 230 s, whatever functionTimeout says."""
TIMEOUT_MAX_S = 3600
"""Flex's functionTimeout is unbounded (default 30 min), but scale-in drains executions for at
most 60 minutes (event-driven-scaling.md, "Scale-in behaviors"), so a longer invocation can be
cut short; 60 minutes is the longest that is guaranteed."""
PYTHON_VERSIONS = {"python3.11": "3.11", "python3.12": "3.12", "python3.13": "3.13"}
"""Python versions GA on Flex Consumption (supported-languages, "Languages by runtime version")."""
# Application Insights retention (the Component's RetentionInDays allowed values).
LOG_RETENTION_DAYS = (30, 60, 90, 120, 180, 270, 365, 550, 730)
# Azure Resource Manager tags: at most 50 per resource, names <= 512 characters (128 on
# storage accounts), values <= 256, and names without < > % & \ ? /.
MAX_TAGS = 50
TAG_NAME_MAX = 512
TAG_VALUE_MAX = 256
_TAG_NAME_FORBIDDEN = re.compile(r"[<>%&\\?/]")

SITE_PACKAGES = ".python_packages/lib/site-packages"
WHEEL_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
SERVICE_BUS_CONNECTION = "OMNICLOUD_SB"
"""The Service Bus trigger's ``connection``: settings ``OMNICLOUD_SB__*`` (identity-based)."""
COSMOS_CONNECTION = "OMNICLOUD_COSMOS"
"""The Cosmos DB trigger's ``connection``: settings ``OMNICLOUD_COSMOS__*`` (identity-based)."""
# App settings the provider owns; a user variable of the same name would silently win or lose.
# (OMNICLOUD_* names, the trigger list and connections included, are reserved by FunctionArgs.)
MANAGED_SETTINGS = (
    "AzureWebJobsStorage__accountName",
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "OMNICLOUD_PACKAGE_SHA256",
)
_MANAGED_PREFIXES = ("APPLICATIONINSIGHTS_", "AzureFunctionsJobHost__")


@dataclass(frozen=True)
class AzureFunctionResources:
    """The native resources behind a Function on Azure."""

    app: web.WebApp
    plan: web.AppServicePlan
    deployment_container: storage.BlobContainer
    package: storage.Blob
    insights: applicationinsights.Component
    host_storage_role: authorization.RoleAssignment
    stack: AzureStackResources
    """The stack's shared resource group, storage account and Log Analytics workspace."""
    link_grants: list[pulumi.CustomResource] = field(default_factory=list)
    """One role assignment per verb of each link (see :mod:`providers.azure.grants`)."""


class AzureFunctionProvider:
    """Builds :class:`components.Function` on Azure Functions (Linux Flex Consumption)."""

    def validate(self, name: str, args: FunctionArgs) -> None:
        component = f"Function '{name}'"
        naming.check_function_name(component, name)
        _check_runtime(component, args)
        _check_scale(component, args)
        _check_timeout(component, args)
        cross_cloud_links(component, CLOUD, args.links)
        grants.check_links(component, args.links)
        require(args.log_retention_days in LOG_RETENTION_DAYS, component, "log_retention_days",
                args.log_retention_days,
                f"Application Insights retention is one of {LOG_RETENTION_DAYS} days",
                cloud=CLOUD)
        check_tags(component, name, args)
        _check_settings(component, args)
        if args.schedule is not None:
            ncrontab(component, args.schedule)
        # Checks the override names now, so a typo fails before anything is registered.
        apply_overrides(component, CLOUD, web.WebApp, {}, args.overrides)

    def create(self, name: str, args: FunctionArgs, parent: pulumi.ComponentResource) -> FunctionOutputs:
        component = f"Function '{name}'"
        shared = stack_resources()
        tags = tags_for(name, args)
        account = shared.storage_account
        archive = _build_package(component, args)

        built = flex_app(
            FlexAppSpec(
                name=name,
                component=component,
                archive=archive,
                python_version=PYTHON_VERSIONS[args.runtime],
                memory_mb=args.memory_mb,
                max_instances=args.max_instances or DEFAULT_MAX_INSTANCES,
                always_ready=_always_ready(args),
                log_retention_days=args.log_retention_days,
                tags=tags,
                overrides=args.overrides,
            ),
            lambda insights: _app_settings(
                name, args, account.name, insights, archive, triggers_of(parent).output()
            ),
            parent,
        )
        app, principal_id = built.app, built.principal_id
        link_grants = [
            assignment
            for link in args.links
            for assignment in grants.grant(
                parent, link.target, link.verbs, f"links of Function '{name}'",
                principal_id=principal_id, parent=parent,
            )
        ]
        url: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        if args.http is not None:
            # routePrefix is "" in host.json, so the handler's paths start at the root.
            url = pulumi.Output.concat("https://", app.default_host_name, "/")
        resources = AzureFunctionResources(
            app=app,
            plan=built.plan,
            deployment_container=built.deployment_container,
            package=built.package,
            insights=built.insights,
            host_storage_role=built.host_storage_role,
            stack=shared,
            link_grants=link_grants,
        )
        return FunctionOutputs(
            name=app.name,
            resource_id=app.id,
            url=url,
            identity=principal_id,
            resources=resources,
        )


def ncrontab(component: str, schedule: str) -> str:
    """The timer trigger's NCRONTAB expression, or the error naming what is not expressible."""
    try:
        return to_ncrontab(parse_schedule(schedule))
    except UnsupportedSchedule as exc:
        raise InvalidArgsError(component, "schedule", schedule, str(exc), cloud=CLOUD) from None


def _check_runtime(component: str, args: FunctionArgs) -> None:
    require(args.runtime in PYTHON_VERSIONS, component, "runtime", args.runtime,
            f"Flex Consumption runs {', '.join(PYTHON_VERSIONS)}", cloud=CLOUD)
    require(args.architecture != "arm64", component, "architecture", args.architecture,
            "Flex Consumption runs only x86_64 (leave it None or set 'x86_64')", cloud=CLOUD)


def _check_scale(component: str, args: FunctionArgs) -> None:
    require(args.memory_mb in MEMORY_MB, component, "memory_mb", args.memory_mb,
            f"Flex Consumption instance memory is one of {MEMORY_MB} MB", cloud=CLOUD)
    low, high = MAX_INSTANCES
    if args.max_instances is not None:
        require(low <= args.max_instances <= high, component, "max_instances", args.max_instances,
                f"Flex Consumption maximum instance count is {low}-{high}", cloud=CLOUD)
    maximum = args.max_instances or DEFAULT_MAX_INSTANCES
    require(args.min_instances <= maximum, component, "min_instances", args.min_instances,
            f"always-ready instances cannot exceed the maximum instance count ({maximum})",
            cloud=CLOUD)
    require(args.min_instances == 0 or args.http is not None or args.schedule is not None,
            component, "min_instances", args.min_instances,
            "always-ready instances are kept per trigger (the HTTP group or the timer function); "
            "set http or schedule, or leave min_instances at 0",
            cloud=CLOUD)


def _check_timeout(component: str, args: FunctionArgs) -> None:
    if args.http is not None:
        require(args.timeout_s <= HTTP_TIMEOUT_MAX_S, component, "timeout_s", args.timeout_s,
                f"HTTP requests end after {HTTP_TIMEOUT_MAX_S} s at the Azure front end, "
                "whatever the function timeout", cloud=CLOUD)
    require(args.timeout_s <= TIMEOUT_MAX_S, component, "timeout_s", args.timeout_s,
            f"at most {TIMEOUT_MAX_S} s: Flex Consumption lets a running execution finish for "
            "at most 60 minutes when instances scale in", cloud=CLOUD)


def check_tags(component: str, name: str, args: Any) -> None:
    """Azure's tag limits on ``args.tags`` plus the tags omnicloud adds (any component)."""
    require(len(tags_for(name, args)) <= MAX_TAGS, component, "tags", args.tags,
            f"Azure resources have at most {MAX_TAGS} tags (omnicloud adds 3)", cloud=CLOUD)
    for key, value in args.tags.items():
        require(len(key) <= TAG_NAME_MAX and not _TAG_NAME_FORBIDDEN.search(key), component,
                f"tags.{key}", value,
                f"Azure tag names are at most {TAG_NAME_MAX} characters without < > % & \\ ? /",
                cloud=CLOUD)
        require(len(value) <= TAG_VALUE_MAX, component, f"tags.{key}", value,
                f"Azure tag values are at most {TAG_VALUE_MAX} characters", cloud=CLOUD)


def _check_settings(component: str, args: FunctionArgs) -> None:
    for source in ("environment", "secrets"):
        for key in getattr(args, source):
            require(key not in MANAGED_SETTINGS and not key.startswith(_MANAGED_PREFIXES),
                    component, f"{source}.{key}", key,
                    f"omnicloud sets {', '.join(MANAGED_SETTINGS)} and names starting with "
                    f"{', '.join(_MANAGED_PREFIXES)} itself", cloud=CLOUD)


# What a package needs besides the handler's own requirements.txt: the Functions library the
# worker imports function_app.py with (not provided on every Python version), and the SDK of
# each linked kind (the platform provides none). The per-message Service Bus settlement
# extension is a preview package with native dependencies (~35 MB): a handler that wants
# partial-batch settlement lists it in its own requirements.txt.
WORKER_REQUIREMENTS = ("azure-functions>=1.26",)
LINK_REQUIREMENTS = {
    "queue": ("azure-identity>=1.27", "azure-servicebus>=7.15"),
    "bus": ("azure-identity>=1.27", "azure-eventgrid>=4.22"),
    "table": ("azure-identity>=1.27", "azure-cosmos>=4.17"),
    "workflow": ("azure-identity>=1.27", "azure-storage-queue>=12.18"),
}


def package_requirements(args: FunctionArgs) -> tuple[str, ...]:
    """The requirements vendored into a function's package, in a stable order."""
    needed: dict[str, None] = dict.fromkeys(WORKER_REQUIREMENTS)
    for link in args.links:
        needed.update(dict.fromkeys(LINK_REQUIREMENTS.get(link.kind, ())))
    return tuple(needed)


def _build_package(component: str, args: FunctionArgs) -> BuiltArchive:
    # Imported here so the adapter module (standard library only) loads only when deploying.
    from components.runtime.adapters import azure as adapter

    timer = ncrontab(component, args.schedule) if args.schedule is not None else None
    return build_archive(
        ArchiveSpec(
            handler=args.handler,
            dependencies=Vendored(
                platforms=WHEEL_PLATFORMS,
                python_version=PYTHON_VERSIONS[args.runtime],
                target_dir=SITE_PACKAGES,
                always=package_requirements(args),
            ),
            entry_files=adapter.entry_files(
                http=args.http, ncrontab=timer, function_timeout_s=args.timeout_s
            ),
        ),
        component=component,
    )


def _always_ready(args: FunctionArgs) -> list[web.FunctionsAlwaysReadyConfigArgs] | None:
    """Warm instances for the app's trigger group: all HTTP functions, else the timer."""
    if args.min_instances == 0:
        return None
    from components.runtime.adapters import azure as adapter

    group = "http" if args.http is not None else f"function:{adapter.TIMER_FUNCTION}"
    return [web.FunctionsAlwaysReadyConfigArgs(name=group, instance_count=args.min_instances)]


def _app_settings(
    name: str,
    args: FunctionArgs,
    account_name: pulumi.Input[str],
    insights: applicationinsights.Component,
    archive: BuiltArchive,
    triggers: pulumi.Output[str],
) -> pulumi.Output[list[web.NameValuePairArgs]]:
    """App settings: host wiring first, then the runtime's and user's environment, then secrets,
    then the trigger list and the connections its triggers need.

    The list is an Output because the connections depend on subscriptions declared after the
    Function; it is secret as a whole if any secret is set.
    """
    settings: dict[str, pulumi.Input[str]] = {
        # Identity-based host storage: no connection string, no key.
        "AzureWebJobsStorage__accountName": account_name,
        "APPLICATIONINSIGHTS_CONNECTION_STRING": insights.connection_string,
        # A new package changes site config, which restarts the app onto the new blob.
        "OMNICLOUD_PACKAGE_SHA256": archive.sha256,
        **runtime_environment(CLOUD, name, args),
        **secret_environment(args),
        TRIGGERS_ENV: triggers,
    }

    def pairs(values: dict[str, Any]) -> list[web.NameValuePairArgs]:
        resolved = {**values, **trigger_connections(values[TRIGGERS_ENV])}
        return [web.NameValuePairArgs(name=key, value=value) for key, value in resolved.items()]

    return pulumi.Output.all(**settings).apply(pairs)


def trigger_connections(triggers_json: str) -> dict[str, str]:
    """The identity-based trigger connections the descriptors in ``OMNICLOUD_TRIGGERS`` need.

    A queue's descriptor names its connection prefix (one per Service Bus namespace: Basic
    for plain queues, Standard for FIFO ones); every Table lives in the stack's one Cosmos DB
    account, so one setting suffices there.
    """
    connections: dict[str, str] = {}
    for descriptor in json.loads(triggers_json):
        if descriptor.get("kind") == "queue" and descriptor.get("namespace"):
            prefix = descriptor.get("connection", SERVICE_BUS_CONNECTION)
            connections[f"{prefix}__fullyQualifiedNamespace"] = descriptor["namespace"]
        elif descriptor.get("kind") == "table" and descriptor.get("endpoint"):
            connections[f"{COSMOS_CONNECTION}__accountEndpoint"] = descriptor["endpoint"]
    return connections
