"""One Linux Flex Consumption function app, deployed from a blob: what a Function and a
Workflow's orchestrator app are both built on.

What gets registered (children of ``parent``):

* ``azure-native:web:AppServicePlan`` ``<name>-plan``: FC1 / FlexConsumption, Linux, one per app
  (instance memory and scale limits are per-app settings on Flex).
* ``azure-native:storage:BlobContainer`` ``<name>-deploy`` and ``azure-native:storage:Blob``
  ``<name>-package``: the app's private deployment container in the stack's storage account and
  ``released-package.zip`` in it (a package deployed from a blob gets no remote build, so
  dependencies are vendored).
* ``azure-native:applicationinsights:Component`` ``<name>-insights``: workspace-based, on the
  stack's Log Analytics workspace.
* ``azure-native:web:WebApp`` ``<name>``: ``functionapp,linux``, HTTPS only, TLS 1.2, FTPS off,
  system-assigned identity, package read from the container with that identity.
* ``azure-native:authorization:RoleAssignment`` ``<name>-host-storage``: Storage Blob Data
  Owner for the app's identity on the stack storage account, which identity-based
  ``AzureWebJobsStorage`` requires.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_azure_native import applicationinsights, authorization, storage, web

from components.packaging import BuiltArchive
from providers.azure import naming, roles
from providers.azure.stack import AzureStackResources, stack_resources
from providers.shared import apply_overrides

CLOUD = "azure"
PACKAGE_BLOB = "released-package.zip"
PACKAGE_CONTENT_TYPE = "application/zip"
HOST_STORAGE_ROLE = "Storage Blob Data Owner"


@dataclass(frozen=True)
class FlexAppSpec:
    """What differs between the apps built here."""

    name: str
    component: str
    """``Function 'api'`` / ``Workflow 'checkout'``: who is named in errors and descriptions."""
    archive: BuiltArchive
    python_version: str
    memory_mb: int
    max_instances: int
    always_ready: list[web.FunctionsAlwaysReadyConfigArgs] | None
    log_retention_days: int
    tags: Mapping[str, str]
    overrides: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class FlexApp:
    """The resources of one app."""

    app: web.WebApp
    plan: web.AppServicePlan
    deployment_container: storage.BlobContainer
    package: storage.Blob
    insights: applicationinsights.Component
    host_storage_role: authorization.RoleAssignment
    principal_id: pulumi.Output[str]
    """The app's system-assigned identity."""


AppSettings = Callable[[applicationinsights.Component], pulumi.Input[Sequence[pulumi.Input[web.NameValuePairArgs]]]]
"""Builds the app settings once the Application Insights component exists."""


def flex_app(spec: FlexAppSpec, settings: AppSettings, parent: pulumi.Resource) -> FlexApp:
    """Register the app and what it runs on; ``overrides["azure"]`` applies to the WebApp."""
    name = spec.name
    child = pulumi.ResourceOptions(parent=parent)
    shared = stack_resources()
    group_name = shared.resource_group.name
    account = shared.storage_account
    tags = dict(spec.tags)
    plan = web.AppServicePlan(
        f"{name}-plan",
        resource_group_name=group_name,
        kind="functionapp",
        reserved=True,  # Linux
        sku=web.SkuDescriptionArgs(name="FC1", tier="FlexConsumption"),
        tags=tags,
        opts=child,
    )
    container, package = _deployment_package(name, shared, spec.archive, parent)
    insights = applicationinsights.Component(
        f"{name}-insights",
        resource_group_name=group_name,
        kind="web",
        application_type=applicationinsights.ApplicationType.WEB,
        ingestion_mode=applicationinsights.IngestionMode.LOG_ANALYTICS,
        workspace_resource_id=shared.workspace.id,
        retention_in_days=spec.log_retention_days,
        tags=tags,
        opts=child,
    )
    blob_endpoint = account.primary_endpoints.apply(lambda endpoints: endpoints.blob)
    deployment_url = pulumi.Output.concat(blob_endpoint, container.name)
    app_kwargs = apply_overrides(
        spec.component,
        CLOUD,
        web.WebApp,
        {
            "resource_group_name": group_name,
            "kind": "functionapp,linux",
            "server_farm_id": plan.id,
            "https_only": True,
            "identity": web.ManagedServiceIdentityArgs(type=web.ManagedServiceIdentityType.SYSTEM_ASSIGNED),
            "function_app_config": _function_app_config(spec, deployment_url),
            "site_config": web.SiteConfigArgs(
                app_settings=settings(insights),
                min_tls_version=web.SupportedTlsVersions.SUPPORTED_TLS_VERSIONS_1_2,
                ftps_state=web.FtpsState.DISABLED,
            ),
            "tags": tags,
        },
        spec.overrides,
    )
    # The package must be in place before the app (re)starts onto it.
    app = web.WebApp(name, **app_kwargs, opts=pulumi.ResourceOptions(parent=parent, depends_on=[package]))
    principal_id = app.identity.apply(_principal_id)
    host_storage_role = authorization.RoleAssignment(
        f"{name}-host-storage",
        principal_id=principal_id,
        principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
        role_definition_id=roles.role_definition_id(HOST_STORAGE_ROLE, account.id),
        scope=account.id,
        description=f"Host storage of omnicloud {spec.component}",
        opts=child,
    )
    return FlexApp(
        app=app,
        plan=plan,
        deployment_container=container,
        package=package,
        insights=insights,
        host_storage_role=host_storage_role,
        principal_id=principal_id,
    )


def _deployment_package(
    name: str, shared: AzureStackResources, archive: BuiltArchive, parent: pulumi.Resource
) -> tuple[storage.BlobContainer, storage.Blob]:
    """The app's private deployment container and the package blob in it."""
    group_name = shared.resource_group.name
    account = shared.storage_account
    container = storage.BlobContainer(
        f"{name}-deploy",
        resource_group_name=group_name,
        account_name=account.name,
        container_name=naming.deployment_container_name(name),
        public_access=storage.PublicAccess.NONE,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    package = storage.Blob(
        f"{name}-package",
        resource_group_name=group_name,
        account_name=account.name,
        container_name=container.name,
        blob_name=PACKAGE_BLOB,
        source=pulumi.FileAsset(str(archive.path)),
        content_type=PACKAGE_CONTENT_TYPE,
        # A new archive replaces the blob under the same name: creating the replacement
        # first and then deleting the old resource would delete the new upload.
        opts=pulumi.ResourceOptions(parent=parent, delete_before_replace=True),
    )
    return container, package


def _function_app_config(spec: FlexAppSpec, deployment_url: pulumi.Input[str]) -> web.FunctionAppConfigArgs:
    return web.FunctionAppConfigArgs(
        deployment=web.FunctionsDeploymentArgs(
            storage=web.FunctionsDeploymentStorageArgs(
                type=web.FunctionsDeploymentStorageType.BLOB_CONTAINER,
                value=deployment_url,
                authentication=web.FunctionsDeploymentStorageAuthenticationArgs(
                    type=web.AuthenticationType.SYSTEM_ASSIGNED_IDENTITY
                ),
            )
        ),
        runtime=web.FunctionsRuntimeArgs(name=web.RuntimeName.PYTHON, version=spec.python_version),
        scale_and_concurrency=web.FunctionsScaleAndConcurrencyArgs(
            instance_memory_mb=spec.memory_mb,
            maximum_instance_count=spec.max_instances,
            always_ready=spec.always_ready,
        ),
    )


def _principal_id(identity: web.outputs.ManagedServiceIdentityResponse | None) -> str:
    if identity is None or not identity.principal_id:
        raise ValueError("the Function App has no system-assigned identity")
    return identity.principal_id
