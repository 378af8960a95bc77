"""Function on GCP: Cloud Functions gen2, its identity, secrets, schedule and logs."""

from __future__ import annotations

import base64
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components import Function, FunctionArgs
from components.errors import InvalidArgsError
from components.packaging import ArchiveSpec, RemoteBuild, build_archive
from components.testing import MockStack, assert_props
from providers.gcp.function import GcpFunctionResources

FUNCTION = "gcp:cloudfunctionsv2/function:Function"
ACCOUNT = "gcp:serviceaccount/account:Account"
BUCKET = "gcp:storage/bucket:Bucket"
OBJECT = "gcp:storage/bucketObject:BucketObject"
RUN_INVOKER = "gcp:cloudrunv2/serviceIamMember:ServiceIamMember"
JOB = "gcp:cloudscheduler/job:Job"
SECRET = "gcp:secretmanager/secret:Secret"
SECRET_VERSION = "gcp:secretmanager/secretVersion:SecretVersion"
SECRET_ACCESS = "gcp:secretmanager/secretIamMember:SecretIamMember"
LOG_BUCKET = "gcp:logging/projectBucketConfig:ProjectBucketConfig"
LOG_SINK = "gcp:logging/projectSink:ProjectSink"
LOG_EXCLUSION = "gcp:logging/projectExclusion:ProjectExclusion"
STACK_COMPONENT = "omnicloud:gcp:StackResources"
PROJECT = "omnicloud-test"


def api(**extra: Any) -> FunctionArgs:
    return FunctionArgs(handler="functions.api.handle", **extra)


def nightly(**extra: Any) -> FunctionArgs:
    return FunctionArgs(handler="functions.nightly.handle", schedule="cron(0 2 * * *)", **extra)


def service_name(stack: MockStack) -> str:
    """The Cloud Run service the mock's function reports (last segment of serviceConfig.service)."""
    return stack.one(FUNCTION).outputs["serviceConfig"]["service"].rsplit("/", 1)[-1]


def run_uri(stack: MockStack) -> str:
    return stack.one(FUNCTION).outputs["serviceConfig"]["uri"]


# -- the function itself ------------------------------------------------------------------


def test_public_http_function_outputs_point_at_the_gen2_function(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        fn = Function("api", api(http="public"))
        outputs = {
            "name": stack.resolve(fn.name),
            "resource_id": stack.resolve(fn.resource_id),
            "url": stack.resolve(fn.url),
            "identity": stack.resolve(fn.identity),
        }
    assert re.fullmatch(r"api-[0-9a-f]{7}", outputs["name"])
    assert outputs["resource_id"] == f"projects/{PROJECT}/locations/us-central1/functions/{outputs['name']}"
    assert outputs["url"] == run_uri(stack)
    assert outputs["url"].endswith(".run.app")
    assert re.fullmatch(rf"api-fn-[0-9a-f]{{6}}@{PROJECT}\.iam\.gserviceaccount\.com", outputs["identity"])
    assert isinstance(fn.resources, GcpFunctionResources)


def test_function_is_built_remotely_from_its_archive_with_the_gcp_entry_point(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Function("api", api(runtime="python3.13", description="the API"))
    source = stack.one(OBJECT)
    bucket = stack.one(BUCKET)
    assert_props(
        stack.one(FUNCTION),
        {
            "location": "us-central1",
            "description": "the API",
            "buildConfig": {
                "runtime": "python313",
                "entryPoint": "entry",
                "source": {
                    "storageSource": {
                        "bucket": bucket.outputs["name"],
                        "object": source.inputs["name"],
                    }
                },
            },
        },
    )


def test_source_object_is_named_by_the_archive_content_hash(project_root: Path) -> None:
    from components.runtime.adapters import gcp as adapter

    with MockStack(cloud="gcp", root=project_root) as stack:
        Function("api", api())
    archive = build_archive(
        ArchiveSpec(
            handler="functions.api.handle",
            dependencies=RemoteBuild(always=("functions-framework>=3.8",)),
            entry_files=adapter.entry_files(),
        ),
        project_root,
    )
    assert_props(
        stack.one(OBJECT),
        {"name": f"api/{archive.sha256[:16]}.zip", "contentType": "application/zip"},
    )
    assert stack.one(OBJECT).inputs["source"].path == str(archive.path)
    with zipfile.ZipFile(archive.path) as zipped:
        names = set(zipped.namelist())
        requirements = zipped.read("requirements.txt").decode()
    # Cloud Build installs requirements.txt; main.py exports the entry point.
    assert {"main.py", "requirements.txt", "functions/api.py"} <= names
    assert "functions-framework>=3.8" in requirements.splitlines()


def test_service_config_sets_limits_identity_and_ingress(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Function("api", api(memory_mb=1024, timeout_s=120, min_instances=1, max_instances=10))
    account = stack.one(ACCOUNT)
    assert_props(
        stack.one(FUNCTION),
        {
            "serviceConfig": {
                "availableMemory": "1Gi",
                "availableCpu": "0.583",
                "timeoutSeconds": 120,
                "minInstanceCount": 1,
                "maxInstanceCount": 10,
                "serviceAccountEmail": account.outputs["email"],
                "ingressSettings": "ALLOW_ALL",
                "allTrafficOnLatestRevision": True,
            }
        },
    )


@pytest.mark.parametrize(
    ("memory_mb", "memory", "cpu"),
    [(128, "128Mi", "0.083"), (512, "512Mi", "0.333"), (2048, "2Gi", "1"), (4096, "4Gi", "2"),
     (8192, "8Gi", "2"), (16384, "16Gi", "4"), (32768, "32Gi", "8")],
)
def test_each_memory_tier_gets_the_cpu_google_requires(
    project_root: Path, memory_mb: int, memory: str, cpu: str
) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Function("api", api(memory_mb=memory_mb))
    assert_props(stack.one(FUNCTION), {"serviceConfig": {"availableMemory": memory, "availableCpu": cpu}})


def test_max_instances_is_left_to_the_cloud_default_when_unset(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Function("api", api())
    assert "maxInstanceCount" not in stack.one(FUNCTION).inputs["serviceConfig"]


def test_environment_holds_runtime_variables_and_the_users(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Function("api", api(environment={"STAGE": "dev", "TABLE": pulumi.Output.from_input("orders")}))
    assert stack.one(FUNCTION).inputs["serviceConfig"]["environmentVariables"] == {
        "LOG_EXECUTION_ID": "true",
        "OMNICLOUD_HANDLER": "functions.api.handle",
        "OMNICLOUD_FUNCTION": "api",
        "OMNICLOUD_CLOUD": "gcp",
        # Always set (the trigger list is only known after the program body): none here.
        "OMNICLOUD_TRIGGERS": "[]",
        "STAGE": "dev",
        "TABLE": "orders",
    }


def test_function_has_its_own_service_account_and_no_project_roles(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        fn = Function("api", api())
    account = stack.one(ACCOUNT)
    assert account.parent == stack.one("omnicloud:index:Function").urn
    assert_props(account, {"displayName": "omnicloud Function 'api'"})
    assert re.fullmatch(r"api-fn-[0-9a-f]{6}", account.inputs["accountId"])
    assert not [r for r in stack.find() if "projectIamMember" in r.type or "IamBinding" in r.type]
    assert fn.resources.service_account is not None


def test_labels_are_gcp_sanitized_tags_on_the_function(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Function("api", api(tags={"Team": "Data Platform"}))
    assert stack.one(FUNCTION).inputs["labels"] == {
        "omnicloud-component": "api",
        "omnicloud-project": "omnicloud",
        "omnicloud-stack": "test",
        "team": "data_platform",
    }


def test_every_resource_but_the_shared_ones_is_a_child_of_the_function(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Function("api", api(http="public", secrets={"TOKEN": "t"}, schedule="rate(1 hour)"))
    component = stack.one("omnicloud:index:Function")
    shared = stack.one(STACK_COMPONENT)
    for resource in stack.find():
        if resource.custom and resource.type != BUCKET:
            assert resource.parent == component.urn, resource.type
    assert stack.one(BUCKET).parent == shared.urn


def test_overrides_merge_into_the_function_arguments(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Function("api", api(overrides={"gcp": {"kms_key_name": "projects/p/locations/l/keyRings/r/cryptoKeys/k"}}))
    assert_props(stack.one(FUNCTION), {"kmsKeyName": "projects/p/locations/l/keyRings/r/cryptoKeys/k"})


def test_unknown_override_names_the_valid_properties(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root), pytest.raises(InvalidArgsError) as caught:
        Function("api", api(overrides={"gcp": {"memory": "1Gi"}}))
    assert caught.value.field == "overrides.gcp.memory"
    assert "service_config" in caught.value.limit


def test_region_comes_from_gcp_region_config(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root, config={"gcp:region": "europe-west1"}) as stack:
        Function("nightly", nightly())
    assert_props(stack.one(FUNCTION), {"location": "europe-west1"})
    assert_props(stack.one(BUCKET), {"location": "EUROPE-WEST1"})
    assert_props(stack.one(JOB), {"region": "europe-west1"})


# -- the shared source bucket -----------------------------------------------------------------


def test_one_private_source_bucket_per_stack_outside_any_function(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Function("api", api())
        Function("nightly", nightly())
    bucket = stack.one(BUCKET)
    shared = stack.one(STACK_COMPONENT)
    functions = {r.urn for r in stack.find("omnicloud:index:Function")}
    assert shared.parent not in functions
    assert bucket.parent == shared.urn
    assert_props(
        bucket,
        {
            "location": "US-CENTRAL1",
            "uniformBucketLevelAccess": True,
            "publicAccessPrevention": "enforced",
            "forceDestroy": False,
            "labels": {"omnicloud-project": "omnicloud", "omnicloud-stack": "test"},
        },
    )
    objects = {r.inputs["name"].split("/")[0] for r in stack.find(OBJECT)}
    assert objects == {"api", "nightly"}


# -- access -----------------------------------------------------------------------------


def test_public_function_lets_all_users_invoke_its_cloud_run_service(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        fn = Function("api", api(http="public"))
    assert_props(
        stack.one(RUN_INVOKER),
        {
            "project": PROJECT,
            "location": "us-central1",
            "name": service_name(stack),
            "role": "roles/run.invoker",
            "member": "allUsers",
        },
    )
    assert fn.resources.public_invoker is not None


def test_private_function_has_a_url_and_no_invoker_binding(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        fn = Function("api", api(http="private"))
        url = stack.resolve(fn.url)
    assert url == run_uri(stack)
    assert stack.find(RUN_INVOKER) == []


def test_function_without_http_has_no_url(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        fn = Function("worker", api())
        url = stack.resolve(fn.url)
    assert url is None
    assert stack.find(RUN_INVOKER) == []
    assert stack.find(JOB) == []


# -- secrets ----------------------------------------------------------------------------


def test_secrets_live_in_secret_manager_readable_only_by_the_function(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        fn = Function("api", api(secrets={"API_TOKEN": "s3cret-value"}))
        secret_resource_id = stack.resolve(fn.resources.secrets["API_TOKEN"].secret.id)
    account = stack.one(ACCOUNT)
    secret = stack.one(SECRET)
    version = stack.one(SECRET_VERSION)
    assert_props(secret, {"replication": {"auto": {}}, "labels": {"omnicloud-component": "api"}})
    assert re.fullmatch(r"test-api-api-token-[0-9a-f]{6}", secret.inputs["secretId"])
    assert_props(version, {"secret": secret_resource_id, "secretData": "s3cret-value"})
    assert "secretData" in version.secret_inputs
    assert_props(
        stack.one(SECRET_ACCESS),
        {
            "secretId": secret.inputs["secretId"],
            "project": PROJECT,
            "role": "roles/secretmanager.secretAccessor",
            "member": account.outputs["member"],
        },
    )
    function = stack.one(FUNCTION)
    assert_props(
        function,
        {
            "serviceConfig": {
                "secretEnvironmentVariables": [
                    {"key": "API_TOKEN", "secret": secret.inputs["secretId"], "projectId": PROJECT}
                ]
            }
        },
    )
    # The value is nowhere in the function's configuration.
    assert "API_TOKEN" not in function.inputs["serviceConfig"]["environmentVariables"]
    assert "s3cret-value" not in json.dumps(function.inputs, default=str)
    assert set(fn.resources.secrets) == {"API_TOKEN"}


def test_secret_given_as_output_stays_secret(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Function("api", api(secrets={"TOKEN": pulumi.Output.from_input("from-output")}))
    version = stack.one(SECRET_VERSION)
    assert version.inputs["secretData"] == "from-output"
    assert "secretData" in version.secret_inputs


def test_function_without_secrets_registers_no_secret_manager_resources(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Function("api", api())
    assert [r for r in stack.find() if r.type.startswith("gcp:secretmanager/")] == []
    assert "secretEnvironmentVariables" not in stack.one(FUNCTION).inputs["serviceConfig"]


# -- schedule ---------------------------------------------------------------------------


def test_schedule_posts_the_scheduled_event_with_an_oidc_token(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        fn = Function("nightly", nightly(timeout_s=300))
    scheduler = stack.one(ACCOUNT, "nightly-scheduler")
    uri = run_uri(stack)
    job = stack.one(JOB)
    assert_props(
        job,
        {
            "region": "us-central1",
            "schedule": "0 2 * * *",
            "timeZone": "Etc/UTC",
            "attemptDeadline": "330s",
            "retryConfig": {"retryCount": 3},
            "httpTarget": {
                "uri": uri,
                "httpMethod": "POST",
                "headers": {"Content-Type": "application/json"},
                "oidcToken": {"serviceAccountEmail": scheduler.outputs["email"], "audience": uri},
            },
        },
    )
    body = json.loads(base64.b64decode(job.inputs["httpTarget"]["body"]))
    assert body == {"omnicloud": {"kind": "scheduled", "schedule": "cron(0 2 * * *)"}}
    assert fn.resources.schedule is not None


def test_scheduler_identity_may_invoke_only_this_function(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Function("nightly", nightly())
    scheduler = stack.one(ACCOUNT, "nightly-scheduler")
    assert re.fullmatch(r"nightly-sched-[0-9a-f]{6}", scheduler.inputs["accountId"])
    # Private (no http): the scheduler's binding is the only one.
    assert_props(
        stack.one(RUN_INVOKER),
        {
            "name": service_name(stack),
            "location": "us-central1",
            "role": "roles/run.invoker",
            "member": scheduler.outputs["member"],
        },
    )


def test_scheduled_public_function_has_both_bindings(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Function("nightly", nightly(http="public"))
    members = sorted(r.inputs["member"] for r in stack.find(RUN_INVOKER))
    assert members[0] == "allUsers"
    assert members[1].startswith("serviceAccount:nightly-sched-")


def test_rate_schedule_runs_as_the_equivalent_cron(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Function("api", api(schedule="rate(15 minutes)"))
    assert_props(stack.one(JOB), {"schedule": "*/15 * * * *", "attemptDeadline": "60s"})


def test_longest_scheduled_run_gets_the_maximum_attempt_deadline(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Function("nightly", nightly(timeout_s=1800))
    assert_props(stack.one(JOB), {"attemptDeadline": "1800s"})


# -- logs -------------------------------------------------------------------------------


def test_logs_go_to_a_bucket_with_the_requested_retention(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Function("api", api(log_retention_days=90))
    bucket = stack.one(LOG_BUCKET)
    assert_props(bucket, {"project": PROJECT, "location": "global", "retentionDays": 90})
    bucket_id = bucket.inputs["bucketId"]
    assert re.fullmatch(r"omnicloud-test-api-[0-9a-f]{6}", bucket_id)
    expected_filter = (
        f'resource.type="cloud_run_revision" AND resource.labels.service_name="{service_name(stack)}"'
    )
    assert_props(
        stack.one(LOG_SINK),
        {
            "project": PROJECT,
            "destination": f"logging.googleapis.com/projects/{PROJECT}/locations/global/buckets/{bucket_id}",
            "filter": expected_filter,
            "uniqueWriterIdentity": True,
        },
    )
    # ... and not also into _Default, whose 30 days would keep them longer than asked.
    assert_props(stack.one(LOG_EXCLUSION), {"project": PROJECT, "filter": expected_filter})
    # A sink into a log bucket of its own project needs no IAM grant.
    assert [r for r in stack.find() if "logging/project" in r.type and "Iam" in r.type] == []


# -- validation: fails before anything is registered -------------------------------------------


def _rejected(stack: MockStack, name: str, args: dict[str, Any]) -> InvalidArgsError:
    with pytest.raises(InvalidArgsError) as caught:
        Function(name, {"handler": "functions.api.handle", **args})
    assert stack.resources == []
    assert caught.value.component == f"Function '{name}'"
    return caught.value


@pytest.mark.parametrize(
    ("name", "args", "field", "limit_mentions"),
    [
        ("api", {"architecture": "arm64"}, "architecture", "x86_64"),
        ("api", {"memory_mb": 300}, "memory_mb", "32768"),
        ("api", {"memory_mb": 65536}, "memory_mb", "one of"),
        ("api", {"timeout_s": 3601}, "timeout_s", "3600"),
        ("api", {"timeout_s": 1801, "schedule": "rate(1 hour)"}, "timeout_s", "Cloud Scheduler"),
        ("api", {"min_instances": 5, "max_instances": 2}, "min_instances", "max_instances (2"),
        ("api", {"min_instances": 101}, "min_instances", "Cloud Functions default"),
        ("api", {"max_instances": 1001}, "max_instances", "1000"),
        ("api", {"log_retention_days": 3651}, "log_retention_days", "1-3650"),
        ("api", {"schedule": "rate(7 minutes)"}, "schedule", "dividing 60"),
        ("api", {"environment": {"PORT": "80"}}, "environment.PORT", "reserved"),
        ("api", {"secrets": {"X_GOOGLE_KEY": "v"}}, "secrets.X_GOOGLE_KEY", "reserved"),
        ("api", {"environment": {"A": "1"}, "secrets": {"A": "2"}}, "secrets", "not both"),
        ("api", {"tags": {f"k{i}": "v" for i in range(62)}}, "tags", "64"),
        ("Api", {}, "name", "lowercase"),
        ("a" * 56, {}, "name", "55"),
    ],
)
def test_limits_are_checked_before_anything_is_registered(
    project_root: Path, name: str, args: dict[str, Any], field: str, limit_mentions: str
) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        error = _rejected(stack, name, args)
    assert error.field == field
    assert error.cloud == "gcp"
    assert limit_mentions in error.limit


@pytest.mark.parametrize(
    "args",
    [
        {"architecture": "x86_64", "memory_mb": 32768, "timeout_s": 3600},
        {"schedule": "cron(0 2 * * *)", "timeout_s": 1800},
        {"min_instances": 100},
        {"min_instances": 1000, "max_instances": 1000},
        {"log_retention_days": 3650},
        {"log_retention_days": 1},
    ],
)
def test_values_at_the_limits_are_accepted(project_root: Path, args: dict[str, Any]) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Function("edge", {"handler": "functions.api.handle", **args})
    assert stack.one(FUNCTION)


def _types(stack: MockStack) -> set[str]:
    return {r.type for r in stack.find()}


def test_minimal_function_registers_exactly_its_resources(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        Function("api", api())
    assert _types(stack) == {
        "omnicloud:index:Function", STACK_COMPONENT, BUCKET, ACCOUNT, OBJECT, FUNCTION,
        LOG_BUCKET, LOG_SINK, LOG_EXCLUSION,
    }
