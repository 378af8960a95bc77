"""Function on Azure: the resources, properties and outputs the provider registers (mocked)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pulumi
import pulumi_azure_native
import pytest

from components import Function, FunctionArgs
from components.errors import InvalidArgsError
from components.testing import SUBSCRIPTION_ID, MockStack, RecordedResource, assert_props
from providers.azure import function as azure_function
from providers.azure import naming
from providers.azure.roles import BUILT_IN_ROLES

APP = "azure-native:web:WebApp"
PLAN = "azure-native:web:AppServicePlan"
GROUP = "azure-native:resources:ResourceGroup"
ACCOUNT = "azure-native:storage:StorageAccount"
WORKSPACE = "azure-native:operationalinsights:Workspace"
CONTAINER = "azure-native:storage:BlobContainer"
BLOB = "azure-native:storage:Blob"
INSIGHTS = "azure-native:applicationinsights:Component"
ROLE = "azure-native:authorization:RoleAssignment"
STACK_COMPONENT = "omnicloud:azure:StackResources"
BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"

API = "functions.api.handle"
NIGHTLY = "functions.nightly.handle"


def _settings(app: RecordedResource) -> dict[str, Any]:
    return {pair["name"]: pair["value"] for pair in app.inputs["siteConfig"]["appSettings"]}


def _archive(blob: RecordedResource) -> zipfile.ZipFile:
    return zipfile.ZipFile(blob.inputs["source"].path)


# -- per-stack shared resources ---------------------------------------------------------------


def test_two_functions_share_one_resource_group_storage_account_and_workspace(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API, http="public"))
        Function("nightly", FunctionArgs(handler=NIGHTLY, schedule="cron(0 2 * * *)"))
        group = stack.one(GROUP)
        account = stack.one(ACCOUNT)
        workspace = stack.one(WORKSPACE)
        shared = stack.one(STACK_COMPONENT)
    assert len(stack.find(APP)) == 2
    for resource in (group, account, workspace):
        assert resource.parent == shared.urn
    # The shared component hangs off the stack itself, never off a Function.
    assert shared.parent is not None and shared.parent.endswith("pulumi:pulumi:Stack::omnicloud-test")
    assert account.inputs["resourceGroupName"] == group.outputs["name"]
    assert workspace.inputs["resourceGroupName"] == group.outputs["name"]


def test_resource_group_takes_its_location_from_provider_config(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API))
        group = stack.one(GROUP)
    assert "location" not in group.inputs
    assert_props(group, {"tags": {"omnicloud-project": "omnicloud", "omnicloud-stack": "test"}})


def test_storage_account_is_locked_down_for_identity_only_access(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API))
        account = stack.one(ACCOUNT)
    assert_props(account, {
        "kind": "StorageV2",
        "sku": {"name": "Standard_LRS"},
        "enableHttpsTrafficOnly": True,
        "minimumTlsVersion": "TLS1_2",
        "allowBlobPublicAccess": False,
        "allowSharedKeyAccess": False,
    })
    # Auto-named: the logical name plus azure-native's 8 characters is a valid global name.
    assert account.name.isalnum() and account.name.islower()
    assert len(account.name) + naming.AUTONAME_SUFFIX <= naming.STORAGE_ACCOUNT_MAX


def test_log_analytics_workspace_is_pay_per_gb_with_30_days(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API))
        workspace = stack.one(WORKSPACE)
    assert_props(workspace, {"sku": {"name": "PerGB2018"}, "retentionInDays": 30})


def test_each_stack_gets_its_own_shared_resources(project_root: Path) -> None:
    for _ in range(2):
        with MockStack(cloud="azure", root=project_root) as stack:
            Function("api", FunctionArgs(handler=API))
            assert len(stack.find(GROUP)) == 1
            assert len(stack.find(STACK_COMPONENT)) == 1


# -- per-function resources -------------------------------------------------------------------


def test_every_function_gets_its_own_flex_consumption_linux_plan(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        api = Function("api", FunctionArgs(handler=API, tags={"team": "core"}))
        plan = stack.one(PLAN)
        app = stack.one(APP)
        component = stack.one("omnicloud:index:Function", "api")
    assert_props(plan, {
        "kind": "functionapp",
        "reserved": True,
        "sku": {"name": "FC1", "tier": "FlexConsumption"},
        "tags": {"omnicloud-component": "api", "team": "core"},
    })
    assert app.inputs["serverFarmId"] == plan.outputs["id"]
    assert plan.parent == component.urn
    assert api.resources.plan is not None


def test_package_is_uploaded_to_a_private_per_function_container(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API, http="public"))
        account = stack.one(ACCOUNT)
        container = stack.one(CONTAINER)
        blob = stack.one(BLOB)
    assert_props(container, {
        "containerName": naming.deployment_container_name("api"),
        "publicAccess": "None",
        "accountName": account.outputs["name"],
    })
    assert_props(blob, {
        "blobName": "released-package.zip",
        "contentType": "application/zip",
        "accountName": account.outputs["name"],
        "containerName": container.outputs["name"],
    })
    assert isinstance(blob.inputs["source"], pulumi.FileAsset)


def test_package_blob_is_deleted_before_it_is_replaced(
    project_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Same blob name: create-then-delete would delete the freshly uploaded package.
    options: list[pulumi.ResourceOptions] = []
    real_blob = pulumi_azure_native.storage.Blob

    def spy(*args: Any, **kwargs: Any) -> Any:
        options.append(kwargs["opts"])
        return real_blob(*args, **kwargs)

    monkeypatch.setattr(pulumi_azure_native.storage, "Blob", spy)
    with MockStack(cloud="azure", root=project_root):
        Function("api", FunctionArgs(handler=API))
    assert [opts.delete_before_replace for opts in options] == [True]


def test_package_vendors_x86_64_wheels_where_the_python_worker_looks(
    project_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs: list[Any] = []
    real_build = azure_function.build_archive

    def spy(spec: Any, *args: Any, **kwargs: Any) -> Any:
        specs.append(spec)
        return real_build(spec, *args, **kwargs)

    monkeypatch.setattr(azure_function, "build_archive", spy)
    with MockStack(cloud="azure", root=project_root):
        Function("api", FunctionArgs(handler=API, runtime="python3.11"))
    (spec,) = specs
    assert spec.handler == API
    assert spec.dependencies.platforms == ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
    assert spec.dependencies.python_version == "3.11"
    assert spec.dependencies.target_dir == ".python_packages/lib/site-packages"


def test_package_holds_the_entry_files_for_http(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API, http="private", timeout_s=120))
        blob = stack.one(BLOB)
    with _archive(blob) as archive:
        function_app = archive.read("function_app.py").decode()
        host = json.loads(archive.read("host.json"))
        names = archive.namelist()
    assert "build_app(http='private', schedule=None)" in function_app
    assert host["extensions"]["http"]["routePrefix"] == ""
    assert host["functionTimeout"] == "00:02:00"
    assert "functions/api.py" in names


def test_schedule_becomes_a_utc_ncrontab_timer_in_the_package(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Function("nightly", FunctionArgs(handler=NIGHTLY, schedule="cron(30 2 * * MON-FRI)"))
        blob = stack.one(BLOB)
        app = stack.one(APP)
    with _archive(blob) as archive:
        function_app = archive.read("function_app.py").decode()
    assert "build_app(http=None, schedule='0 30 2 * * 1-5')" in function_app
    # The handler still sees the portable expression.
    assert _settings(app)["OMNICLOUD_SCHEDULE"] == "cron(30 2 * * MON-FRI)"


def test_function_app_runs_from_the_container_with_its_own_identity(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API, http="public", memory_mb=2048))
        app = stack.one(APP)
        account = stack.one(ACCOUNT)
        container = stack.one(CONTAINER)
    blob_endpoint = account.outputs["primaryEndpoints"]["blob"]
    assert_props(app, {
        "kind": "functionapp,linux",
        "httpsOnly": True,
        "identity": {"type": "SystemAssigned"},
        "functionAppConfig": {
            "deployment": {"storage": {
                "type": "blobContainer",
                "value": blob_endpoint + container.outputs["name"],
                "authentication": {"type": "SystemAssignedIdentity"},
            }},
            "runtime": {"name": "python", "version": "3.12"},
            "scaleAndConcurrency": {"instanceMemoryMB": 2048, "maximumInstanceCount": 100},
        },
        "siteConfig": {"minTlsVersion": "1.2", "ftpsState": "Disabled"},
    })
    assert "alwaysReady" not in app.inputs["functionAppConfig"]["scaleAndConcurrency"]


def test_max_instances_sets_the_maximum_instance_count(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API, max_instances=40, runtime="python3.13"))
        app = stack.one(APP)
    assert_props(app, {"functionAppConfig": {
        "runtime": {"version": "3.13"},
        "scaleAndConcurrency": {"maximumInstanceCount": 40},
    }})


def test_min_instances_keep_the_http_group_ready(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API, http="public", schedule="rate(1 hour)", min_instances=2))
        app = stack.one(APP)
    assert_props(app, {"functionAppConfig": {"scaleAndConcurrency": {
        "alwaysReady": [{"name": "http", "instanceCount": 2}],
    }}})


def test_min_instances_keep_the_timer_function_ready_without_http(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Function("nightly", FunctionArgs(handler=NIGHTLY, schedule="rate(5 minutes)", min_instances=1))
        app = stack.one(APP)
    assert_props(app, {"functionAppConfig": {"scaleAndConcurrency": {
        "alwaysReady": [{"name": "function:timer", "instanceCount": 1}],
    }}})


def test_app_settings_wire_identity_host_storage_insights_and_the_environment(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API, environment={"STAGE": "dev"}))
        app = stack.one(APP)
        account = stack.one(ACCOUNT)
        insights = stack.one(INSIGHTS)
        blob = stack.one(BLOB)
    settings = _settings(app)
    assert settings["AzureWebJobsStorage__accountName"] == account.outputs["name"]
    assert settings["APPLICATIONINSIGHTS_CONNECTION_STRING"] == insights.outputs["connectionString"]
    package = Path(blob.inputs["source"].path).read_bytes()
    assert settings["OMNICLOUD_PACKAGE_SHA256"] == hashlib.sha256(package).hexdigest()
    assert settings["OMNICLOUD_HANDLER"] == API
    assert settings["OMNICLOUD_FUNCTION"] == "api"
    assert settings["OMNICLOUD_CLOUD"] == "azure"
    assert settings["STAGE"] == "dev"
    # Nothing key-based: no connection string for host storage.
    assert "AzureWebJobsStorage" not in settings
    assert app.secret_inputs == frozenset()


def test_a_code_change_changes_the_package_hash_setting(project_root: Path) -> None:
    hashes = []
    for timeout in (30, 31):
        with MockStack(cloud="azure", root=project_root) as stack:
            Function("api", FunctionArgs(handler=API, timeout_s=timeout))
            hashes.append(_settings(stack.one(APP))["OMNICLOUD_PACKAGE_SHA256"])
    assert hashes[0] != hashes[1]


def test_secrets_stay_secret_in_the_app_settings(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API, secrets={"API_TOKEN": "s3cret"}))
        app = stack.one(APP)
        others = [r for r in stack.resources if r.type != APP]
    assert app.secret_inputs == frozenset({"siteConfig"})
    assert _settings(app)["API_TOKEN"] == "s3cret"
    assert all(not r.secret_inputs for r in others)


def test_identity_gets_blob_data_owner_on_the_stack_account_only(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        api = Function("api", FunctionArgs(handler=API))
        principal = stack.resolve(api.identity)
        role = stack.one(ROLE)
        account = stack.one(ACCOUNT)
        app = stack.one(APP)
    assert BUILT_IN_ROLES["Storage Blob Data Owner"] == BLOB_DATA_OWNER
    assert_props(role, {
        "principalId": app.outputs["identity"]["principalId"],
        "principalType": "ServicePrincipal",
        "roleDefinitionId": f"/subscriptions/{SUBSCRIPTION_ID}/providers/"
                            f"Microsoft.Authorization/roleDefinitions/{BLOB_DATA_OWNER}",
        "scope": account.outputs["id"],
    })
    assert principal == role.inputs["principalId"]


def test_application_insights_is_workspace_based_with_the_requested_retention(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API, log_retention_days=90))
        insights = stack.one(INSIGHTS)
        workspace = stack.one(WORKSPACE)
    assert_props(insights, {
        "kind": "web",
        "applicationType": "web",
        "ingestionMode": "LogAnalytics",
        "workspaceResourceId": workspace.outputs["id"],
        "retentionInDays": 90,
        "tags": {"omnicloud-component": "api"},
    })


def test_every_function_resource_is_a_child_of_the_component(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API, http="public"))
        component = stack.one("omnicloud:index:Function", "api")
        children = stack.children(component)
    assert sorted(r.type for r in children) == sorted([PLAN, CONTAINER, BLOB, INSIGHTS, APP, ROLE])


# -- outputs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("access", ["public", "private"])
def test_http_url_is_the_default_host_name_at_the_root(project_root: Path, access: str) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        api = Function("api", FunctionArgs(handler=API, http=access))  # type: ignore[arg-type]
        url = stack.resolve(api.url)
        app = stack.one(APP)
    assert url == f"https://{app.outputs['defaultHostName']}/"


def test_url_is_none_without_http(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        job = Function("nightly", FunctionArgs(handler=NIGHTLY, schedule="rate(1 day)"))
        assert stack.resolve(job.url) is None


def test_outputs_name_the_function_app_its_id_and_its_principal(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        api = Function("api", FunctionArgs(handler=API))
        name, resource_id, identity = (
            stack.resolve(api.name), stack.resolve(api.resource_id), stack.resolve(api.identity)
        )
        app = stack.one(APP)
    assert name == app.outputs["name"]
    assert resource_id == app.outputs["id"]
    assert resource_id.startswith(f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/")
    assert identity == app.outputs["identity"]["principalId"]
    assert isinstance(api.resources, azure_function.AzureFunctionResources)
    assert api.resources.stack.storage_account is not None


def test_preview_with_unknown_outputs_registers_the_same_resources(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root, preview=True) as stack:
        Function("api", FunctionArgs(handler=API, http="public"))
        types = sorted(set(stack.types()))
    assert types == sorted({
        "omnicloud:index:Function", STACK_COMPONENT, GROUP, ACCOUNT, WORKSPACE,
        PLAN, CONTAINER, BLOB, INSIGHTS, APP, ROLE,
    })


# -- overrides --------------------------------------------------------------------------------


def test_overrides_merge_into_the_function_app(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Function("api", FunctionArgs(
            handler=API, overrides={"azure": {"client_cert_enabled": True}},
        ))
        app = stack.one(APP)
    assert_props(app, {"clientCertEnabled": True, "httpsOnly": True})


def test_an_unknown_override_fails_before_anything_is_registered(project_root: Path) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        with pytest.raises(InvalidArgsError) as caught:
            Function("api", FunctionArgs(handler=API, overrides={"azure": {"https_onyl": False}}))
        assert caught.value.field == "overrides.azure.https_onyl"
        assert stack.resources == []


# -- validation: fail before deploy -----------------------------------------------------------

INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    ("api", {"memory_mb": 1024}, "memory_mb", "512, 2048, 4096"),
    ("api", {"max_instances": 10}, "max_instances", "40-1000"),
    ("api", {"max_instances": 1001}, "max_instances", "40-1000"),
    ("api", {"http": "public", "min_instances": 101}, "min_instances", "(100)"),
    ("api", {"http": "public", "max_instances": 40, "min_instances": 41}, "min_instances", "(40)"),
    ("api", {"min_instances": 1}, "min_instances", "per trigger"),
    ("api", {"http": "public", "timeout_s": 231}, "timeout_s", "230 s"),
    ("api", {"timeout_s": 3601}, "timeout_s", "3600 s"),
    ("api", {"architecture": "arm64"}, "architecture", "x86_64"),
    ("api", {"log_retention_days": 14}, "log_retention_days", "30, 60, 90"),
    ("my_api", {}, "name", "letters, digits and '-'"),
    ("-api", {}, "name", "starting with a letter or digit"),
    ("a" * 48, {}, "name", "at most 47 characters"),
    ("api", {"schedule": "rate(7 minutes)"}, "schedule", "minutes dividing 60"),
    ("api", {"schedule": "rate(5 hours)"}, "schedule", "hours dividing 24"),
    ("api", {"schedule": "rate(2 days)"}, "schedule", "1 day"),
    ("api", {"schedule": "cron(0 0 13 * FRI)"}, "schedule", "restrict only one"),
    ("api", {"tags": {f"t{i}": "v" for i in range(48)}}, "tags", "at most 50 tags"),
    ("api", {"tags": {"a/b": "v"}}, "tags.a/b", "without"),
    ("api", {"tags": {"k": "v" * 257}}, "tags.k", "at most 256"),
    ("api", {"environment": {"APPLICATIONINSIGHTS_CONNECTION_STRING": "x"}},
     "environment.APPLICATIONINSIGHTS_CONNECTION_STRING", "sets"),
    ("api", {"secrets": {"AzureFunctionsJobHost__functionTimeout": "x"}},
     "secrets.AzureFunctionsJobHost__functionTimeout", "sets"),
]


@pytest.mark.parametrize(("name", "extra", "field", "limit"), INVALID)
def test_invalid_args_fail_before_anything_is_registered(
    project_root: Path, name: str, extra: dict[str, Any], field: str, limit: str
) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        with pytest.raises(InvalidArgsError) as caught:
            Function(name, FunctionArgs(handler=API, **extra))
        assert stack.resources == []
    error = caught.value
    assert error.component == f"Function '{name}'"
    assert error.field == field
    assert error.cloud == "azure"
    assert limit in error.limit


@pytest.mark.parametrize("extra", [
    {"architecture": "x86_64"},
    {"runtime": "python3.11"},
    {"runtime": "python3.13"},
    {"memory_mb": 4096, "max_instances": 1000},
    {"http": "public", "timeout_s": 230},
    {"timeout_s": 3600},
    {"log_retention_days": 730},
    {"schedule": "rate(20 minutes)", "min_instances": 3},
])
def test_values_at_the_limits_are_accepted(project_root: Path, extra: dict[str, Any]) -> None:
    with MockStack(cloud="azure", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API, **extra))
        assert len(stack.find(APP)) == 1


def test_the_longest_allowed_name_is_accepted(project_root: Path) -> None:
    name = "a" * naming.max_function_name()
    with MockStack(cloud="azure", root=project_root) as stack:
        Function(name, FunctionArgs(handler=API))
        assert stack.one(APP).name == name


def test_package_vendors_the_functions_library_and_the_sdks_of_linked_kinds(project_root: Path) -> None:
    import zipfile

    from components import Queue, Table, TableArgs
    from providers.azure.function import package_requirements

    with MockStack(cloud="azure", root=project_root) as stack:
        jobs = Queue("jobs")
        orders = Table("orders", TableArgs(partition_key="pk"))
        fn = Function(
            "api", FunctionArgs(handler="functions.api.handle", links=[jobs.allow("send"), orders.allow("read")])
        )
    assert package_requirements(fn.args) == (
        "azure-functions>=1.26", "azure-identity>=1.27", "azure-servicebus>=7.15", "azure-cosmos>=4.17",
    )
    blob = stack.one("azure-native:storage:Blob", "api-package")
    names = set(zipfile.ZipFile(blob.inputs["source"].path).namelist())
    site = ".python_packages/lib/site-packages/"
    for module in ("azure/functions/__init__.py", "azure/servicebus/__init__.py", "azure/cosmos/__init__.py"):
        assert site + module in names
    assert not any(name.startswith(site + "azure/eventgrid/") for name in names)


def test_every_sdk_the_runtime_clients_import_is_vendored_for_its_link_kind() -> None:
    from components.runtime.clients import azure as clients
    from providers.azure.function import LINK_REQUIREMENTS

    vendored = {requirement for requirements in LINK_REQUIREMENTS.values() for requirement in requirements}
    assert vendored == set(clients.REQUIREMENTS)
    # runtime.workflow(...).start() sends to the workflow's Storage start queue.
    assert "azure-storage-queue>=12.18" in LINK_REQUIREMENTS["workflow"]
