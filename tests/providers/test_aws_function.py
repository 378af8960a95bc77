"""Function on AWS: the Lambda, its role, logs, URL, warm instances and schedule, under mocks."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components import Function, FunctionArgs, Queue
from components.errors import CloudSelectionError, InvalidArgsError
from components.testing import MockStack, RecordedResource, assert_props
from providers.aws.function import AwsFunctionResources

API = "functions.api.handle"
NIGHTLY = "functions.nightly.handle"

LAMBDA = "aws:lambda/function:Function"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
URL = "aws:lambda/functionUrl:FunctionUrl"
PERMISSION = "aws:lambda/permission:Permission"
ALIAS = "aws:lambda/alias:Alias"
PROVISIONED = "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"
SCHEDULE = "aws:scheduler/schedule:Schedule"
QUEUE = "aws:sqs/queue:Queue"
ASYNC_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
MANAGED_POLICY_TYPES = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
    "aws:iam/policy:Policy",
    "aws:iam/rolePoliciesExclusive:RolePoliciesExclusive",
)


def policy_of(resource: RecordedResource, key: str = "policy") -> dict[str, Any]:
    return json.loads(resource.inputs[key])


def statements(resource: RecordedResource, key: str = "policy") -> list[dict[str, Any]]:
    return policy_of(resource, key)["Statement"]


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def env_of(stack: MockStack) -> dict[str, str]:
    return stack.one(LAMBDA).inputs["environment"]["variables"]


# -- the Lambda ---------------------------------------------------------------------------------


def test_lambda_defaults_to_python312_on_arm64_with_the_aws_entry_adapter(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API))
        fn = stack.one(LAMBDA)
    assert_props(
        fn,
        {
            "runtime": "python3.12",
            "architectures": ["arm64"],
            "handler": "components.runtime.adapters.aws.handler",
            "memorySize": 512,
            "timeout": 30,
            "reservedConcurrentExecutions": -1,
            "publish": False,
        },
    )


def test_lambda_takes_runtime_architecture_memory_timeout_and_max_instances(project_root: Path) -> None:
    args = FunctionArgs(
        handler=API, runtime="python3.13", architecture="x86_64", memory_mb=2048, timeout_s=900, max_instances=7
    )
    with MockStack(cloud="aws", root=project_root) as stack:
        Function("api", args)
        fn = stack.one(LAMBDA)
    assert_props(
        fn,
        {
            "runtime": "python3.13",
            "architectures": ["x86_64"],
            "memorySize": 2048,
            "timeout": 900,
            "reservedConcurrentExecutions": 7,
        },
    )


def test_lambda_logs_json_to_its_own_log_group_named_by_project_stack_and_function(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root, project="shop", stack="prod") as stack:
        Function("api", FunctionArgs(handler=API, log_retention_days=14))
        fn, logs = stack.one(LAMBDA), stack.one(LOG_GROUP)
    assert_props(logs, {"name": "/omnicloud/shop/prod/api", "retentionInDays": 14})
    assert_props(fn, {"loggingConfig": {"logFormat": "JSON", "logGroup": "/omnicloud/shop/prod/api"}})


def test_log_retention_defaults_to_30_days(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API))
        assert_props(stack.one(LOG_GROUP), {"retentionInDays": 30})


def test_lambda_environment_names_handler_function_and_cloud_then_user_variables(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API, environment={"STAGE": "prod", "LOG_LEVEL": "debug"}))
        env = env_of(stack)
    assert env == {
        "OMNICLOUD_HANDLER": API,
        "OMNICLOUD_FUNCTION": "api",
        "OMNICLOUD_CLOUD": "aws",
        "OMNICLOUD_TRIGGERS": "[]",
        "STAGE": "prod",
        "LOG_LEVEL": "debug",
    }


def test_source_code_hash_is_the_archive_digest_and_stable_across_identical_stacks(project_root: Path) -> None:
    hashes = []
    for _ in range(2):
        with MockStack(cloud="aws", root=project_root) as stack:
            Function("api", FunctionArgs(handler=API))
            fn = stack.one(LAMBDA)
        hashes.append(fn.inputs["sourceCodeHash"])
        code = fn.inputs["code"]
    assert hashes[0] == hashes[1]
    assert len(base64.b64decode(hashes[0])) == 32
    # The hash is that of the archive the Lambda is given, and the archive holds both the
    # handler's package and the entry adapter the Lambda's handler setting points at.
    assert isinstance(code, pulumi.FileArchive)
    archive = Path(code.path)
    assert base64.b64encode(hashlib.sha256(archive.read_bytes()).digest()).decode() == hashes[0]
    with zipfile.ZipFile(archive) as zipped:
        names = set(zipped.namelist())
    assert {"functions/api.py", "components/runtime/adapters/aws.py"} <= names


def test_lambda_and_every_taggable_child_carry_the_function_tags(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API, schedule="rate(5 minutes)", tags={"team": "core"}))
        taggable = [r for r in stack.find() if r.type in (LAMBDA, ROLE, LOG_GROUP, QUEUE)]
    assert len(taggable) == 5  # lambda, its role, log group, Scheduler role, DLQ
    for resource in taggable:
        assert_props(
            resource,
            {
                "tags": {
                    "team": "core",
                    "omnicloud-component": "api",
                    "omnicloud-project": "omnicloud",
                    "omnicloud-stack": "test",
                }
            },
        )


def test_every_aws_resource_is_a_child_of_the_function_component(project_root: Path) -> None:
    args = FunctionArgs(handler=API, http="public", schedule="rate(1 hour)", min_instances=1)
    with MockStack(cloud="aws", root=project_root) as stack:
        Function("api", args)
        component = stack.one("omnicloud:index:Function")
        natives = [r for r in stack.resources if r is not component]
    assert natives
    assert all(r.parent == component.urn for r in natives)


# -- IAM: least privilege -----------------------------------------------------------------------


def test_execution_role_is_assumable_only_by_lambda(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        fn = Function("api", FunctionArgs(handler=API))
        role = stack.one(ROLE)
        role_arn = stack.resolve(fn.resources.role.arn)
        lambda_role = stack.one(LAMBDA).inputs["role"]
    assert statements(role, "assumeRolePolicy") == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    assert lambda_role == role_arn


def test_execution_role_may_only_write_its_own_log_group(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        fn = Function("api", FunctionArgs(handler=API))
        policy = stack.one(ROLE_POLICY)
        log_group_arn = stack.resolve(fn.resources.log_group.arn)
        role_id = stack.resolve(fn.resources.role.id)
    assert policy.inputs["role"] == role_id
    (statement,) = statements(policy)
    assert statement["Effect"] == "Allow"
    assert sorted(as_list(statement["Action"])) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert as_list(statement["Resource"]) == [f"{log_group_arn}:*"]
    assert log_group_arn.endswith(":log-group:/omnicloud/omnicloud/test/api")


@pytest.mark.parametrize(
    "extra",
    [{}, {"http": "public", "schedule": "cron(0 2 * * *)", "min_instances": 2}],
    ids=["plain", "everything"],
)
def test_no_wildcard_permissions_and_no_managed_policies_anywhere(project_root: Path, extra: dict[str, Any]) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API, **extra))
        stack.settle()
    types = {r.type for r in stack.resources}
    assert not types & set(MANAGED_POLICY_TYPES)
    for role in stack.find(ROLE):
        assert "managedPolicyArns" not in role.inputs
        assert "inlinePolicies" not in role.inputs
    policies = stack.find(ROLE_POLICY)
    assert policies
    for policy in policies:
        for statement in statements(policy):
            assert statement["Effect"] == "Allow"
            for action in as_list(statement["Action"]):
                assert "*" not in action, f"{policy.name}: wildcard action {action}"
            for resource in as_list(statement["Resource"]):
                assert resource != "*", f"{policy.name}: wildcard resource"
                assert resource.startswith("arn:aws:")
            assert "NotAction" not in statement
            assert "NotResource" not in statement


# -- HTTP ---------------------------------------------------------------------------------------


def test_public_http_gets_an_unauthenticated_url_and_both_public_permissions(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        fn = Function("api", FunctionArgs(handler=API, http="public"))
        lambda_name = stack.resolve(fn.name)
        url = stack.one(URL)
        permissions = {p.inputs["action"]: p for p in stack.find(PERMISSION)}
        assert len(fn.resources.url_permissions) == 2
    assert_props(url, {"authorizationType": "NONE", "functionName": lambda_name})
    assert "qualifier" not in url.inputs
    assert sorted(permissions) == ["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"]
    assert_props(
        permissions["lambda:InvokeFunctionUrl"],
        {"function": lambda_name, "principal": "*", "functionUrlAuthType": "NONE"},
    )
    assert_props(
        permissions["lambda:InvokeFunction"],
        {"function": lambda_name, "principal": "*", "invokedViaFunctionUrl": True},
    )
    # The plain InvokeFunction grant must not be usable except through the URL.
    assert permissions["lambda:InvokeFunction"].inputs.get("invokedViaFunctionUrl") is True


def test_private_http_gets_an_iam_authenticated_url_and_no_resource_policy(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        fn = Function("api", FunctionArgs(handler=API, http="private"))
        url = stack.resolve(fn.url)
        assert_props(stack.one(URL), {"authorizationType": "AWS_IAM"})
        assert stack.find(PERMISSION) == []
        assert fn.resources.url_permissions == ()
    assert url is not None
    assert url.startswith("https://") and ".lambda-url.us-east-1.on.aws" in url


def test_no_http_means_no_url_resource_and_a_none_url_output(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        fn = Function("api", FunctionArgs(handler=API))
        assert stack.resolve(fn.url) is None
        assert stack.find(URL) == []
        assert stack.find(PERMISSION) == []
        assert fn.resources.url is None


# -- warm instances -----------------------------------------------------------------------------


def test_min_instances_publishes_a_live_alias_with_provisioned_concurrency(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        fn = Function("api", FunctionArgs(handler=API, min_instances=3, http="public"))
        lambda_name = stack.resolve(fn.name)
        version = stack.resolve(fn.resources.function.version)
        alias = stack.one(ALIAS)
        warm = stack.one(PROVISIONED)
        url = stack.one(URL)
        permissions = stack.find(PERMISSION)
        assert_props(stack.one(LAMBDA), {"publish": True})
    assert_props(alias, {"name": "live", "functionName": lambda_name, "functionVersion": version})
    assert_props(warm, {"functionName": lambda_name, "qualifier": "live", "provisionedConcurrentExecutions": 3})
    # The URL and its permissions target the alias, so requests hit the warm instances.
    assert_props(url, {"qualifier": "live"})
    assert len(permissions) == 2
    for permission in permissions:
        assert_props(permission, {"qualifier": "live"})


def test_no_min_instances_means_no_alias_and_no_provisioned_concurrency(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        fn = Function("api", FunctionArgs(handler=API))
        assert stack.find(ALIAS) == [] and stack.find(PROVISIONED) == []
        assert fn.resources.alias is None and fn.resources.provisioned_concurrency is None


# -- schedule -----------------------------------------------------------------------------------


def test_schedule_creates_a_utc_scheduler_schedule_with_the_translated_expression(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        fn = Function("nightly", FunctionArgs(handler=NIGHTLY, schedule="cron(0 9 * * MON-FRI)"))
        function_arn = stack.resolve(fn.resource_id)
        scheduler_role_arn = stack.resolve(fn.resources.scheduler_role.arn)
        dlq_arn = stack.resolve(fn.resources.dead_letter_queue.arn)
        schedule = stack.one(SCHEDULE)
        env = env_of(stack)
    assert_props(
        schedule,
        {
            "scheduleExpression": "cron(0 9 ? * 2,3,4,5,6 *)",
            "scheduleExpressionTimezone": "UTC",
            "flexibleTimeWindow": {"mode": "OFF"},
            "target": {
                "arn": function_arn,
                "roleArn": scheduler_role_arn,
                "retryPolicy": {"maximumRetryAttempts": 3, "maximumEventAgeInSeconds": 86400},
                "deadLetterConfig": {"arn": dlq_arn},
            },
        },
    )
    assert json.loads(schedule.inputs["target"]["input"]) == {
        "omnicloud": {
            "kind": "scheduled",
            "schedule": "cron(0 9 * * MON-FRI)",
            "time": "<aws.scheduler.scheduled-time>",
            "execution_id": "<aws.scheduler.execution-id>",
        }
    }
    assert env["OMNICLOUD_SCHEDULE"] == "cron(0 9 * * MON-FRI)"


@pytest.mark.parametrize(
    ("portable", "expression"),
    [
        ("rate(5 minutes)", "rate(5 minutes)"),
        ("rate(1 hour)", "rate(1 hour)"),
        ("cron(0 2 * * *)", "cron(0 2 * * ? *)"),
    ],
)
def test_schedule_expression_is_translated(project_root: Path, portable: str, expression: str) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        Function("nightly", FunctionArgs(handler=NIGHTLY, schedule=portable))
        assert_props(stack.one(SCHEDULE), {"scheduleExpression": expression})


def test_scheduler_role_is_assumable_only_by_scheduler_and_may_invoke_only_this_function(
    project_root: Path,
) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        fn = Function("nightly", FunctionArgs(handler=NIGHTLY, schedule="rate(1 day)"))
        function_arn = stack.resolve(fn.resource_id)
        dlq_arn = stack.resolve(fn.resources.dead_letter_queue.arn)
        scheduler_role_id = stack.resolve(fn.resources.scheduler_role.id)
        role = stack.one(ROLE, "nightly-scheduler")
        policy = stack.one(ROLE_POLICY, "nightly-scheduler")
    assert statements(role, "assumeRolePolicy") == [
        {"Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    assert policy.inputs["role"] == scheduler_role_id
    granted = {(a, r) for s in statements(policy) for a in as_list(s["Action"]) for r in as_list(s["Resource"])}
    assert granted == {("lambda:InvokeFunction", function_arn), ("sqs:SendMessage", dlq_arn)}


def test_failed_async_invocations_go_to_the_schedule_dead_letter_queue(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        fn = Function("nightly", FunctionArgs(handler=NIGHTLY, schedule="rate(1 day)"))
        lambda_name = stack.resolve(fn.name)
        dlq_arn = stack.resolve(fn.resources.dead_letter_queue.arn)
        execution_role_id = stack.resolve(fn.resources.role.id)
        dlq = stack.one(QUEUE)
        config = stack.one(ASYNC_CONFIG)
        dlq_policy = stack.one(ROLE_POLICY, "nightly-dlq")
    assert_props(dlq, {"sqsManagedSseEnabled": True})
    assert_props(
        config,
        {"functionName": lambda_name, "destinationConfig": {"onFailure": {"destination": dlq_arn}}},
    )
    assert "qualifier" not in config.inputs
    # Lambda sends failed events with the function's own role, so that role needs exactly this.
    assert dlq_policy.inputs["role"] == execution_role_id
    (statement,) = statements(dlq_policy)
    assert as_list(statement["Action"]) == ["sqs:SendMessage"]
    assert as_list(statement["Resource"]) == [dlq_arn]


def test_a_warm_scheduled_function_is_invoked_through_its_alias(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        fn = Function("nightly", FunctionArgs(handler=NIGHTLY, schedule="rate(1 day)", min_instances=1))
        alias_arn = stack.resolve(fn.resources.alias.arn)
        function_arn = stack.resolve(fn.resource_id)
        schedule = stack.one(SCHEDULE)
        policy = stack.one(ROLE_POLICY, "nightly-scheduler")
        config = stack.one(ASYNC_CONFIG)
    assert alias_arn != function_arn and alias_arn.endswith(":live")
    assert_props(schedule, {"target": {"arn": alias_arn}})
    invoke = [s for s in statements(policy) if "lambda:InvokeFunction" in as_list(s["Action"])]
    assert [as_list(s["Resource"]) for s in invoke] == [[alias_arn]]
    assert_props(config, {"qualifier": "live"})


def test_no_schedule_means_no_scheduler_queue_or_async_config(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        fn = Function("api", FunctionArgs(handler=API))
        for type_ in (SCHEDULE, QUEUE, ASYNC_CONFIG):
            assert stack.find(type_) == []
        assert len(stack.find(ROLE)) == 1 and len(stack.find(ROLE_POLICY)) == 1
        assert "OMNICLOUD_SCHEDULE" not in env_of(stack)
        assert fn.resources.schedule is None and fn.resources.dead_letter_queue is None


# -- secrets ------------------------------------------------------------------------------------


def test_secrets_make_the_lambda_environment_a_secret_input(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API, secrets={"TOKEN": "s3cret"}))
        fn = stack.one(LAMBDA)
        others = [r for r in stack.resources if r is not fn]
    assert "environment" in fn.secret_inputs
    assert fn.inputs["environment"]["variables"]["TOKEN"] == "s3cret"
    # The value appears nowhere else (descriptions, tags, other resources).
    for resource in others:
        assert "s3cret" not in json.dumps(resource.inputs, default=str), resource.name
    for key, value in fn.inputs.items():
        if key != "environment":
            assert "s3cret" not in json.dumps(value, default=str), key


def test_a_function_without_secrets_has_no_secret_inputs(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API, environment={"STAGE": "prod"}, schedule="rate(1 day)"))
        stack.settle()
    assert all(r.secret_inputs == frozenset() for r in stack.resources)


def test_a_secret_output_stays_secret(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        token = pulumi.Output.secret("from-a-secret-store")
        Function("api", FunctionArgs(handler=API, secrets={"TOKEN": token}))
        fn = stack.one(LAMBDA)
    assert "environment" in fn.secret_inputs
    assert fn.inputs["environment"]["variables"]["TOKEN"] == "from-a-secret-store"


def test_a_secret_output_given_as_plain_environment_still_stays_secret(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API, environment={"DSN": pulumi.Output.secret("postgres://x")}))
        assert "environment" in stack.one(LAMBDA).secret_inputs


# -- outputs, overrides, resources --------------------------------------------------------------


def test_outputs_resolve_to_lambda_name_arn_url_and_role_arn(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        fn = Function("api", FunctionArgs(handler=API, http="public"))
        name, arn = stack.resolve(fn.name), stack.resolve(fn.resource_id)
        url, identity = stack.resolve(fn.url), stack.resolve(fn.identity)
        lambda_, url_resource, role = stack.one(LAMBDA), stack.one(URL), stack.one(ROLE)
    assert name == lambda_.outputs["name"] and name.startswith("api-")
    assert arn == lambda_.outputs["arn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    assert url == url_resource.outputs["functionUrl"]
    assert identity == role.outputs["arn"] and identity.startswith("arn:aws:iam::123456789012:role/api-role")


def test_aws_overrides_land_on_the_lambda(project_root: Path) -> None:
    storage = aws.lambda_.FunctionEphemeralStorageArgs(size=1024)
    with MockStack(cloud="aws", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API, overrides={"aws": {"ephemeral_storage": storage}}))
        assert_props(stack.one(LAMBDA), {"ephemeralStorage": {"size": 1024}})


def test_overrides_for_other_clouds_are_ignored_on_aws(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API, overrides={"gcp": {"bogus": 1}}))
        assert "bogus" not in stack.one(LAMBDA).inputs


def test_an_unknown_override_fails_before_registering_and_lists_valid_properties(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack, pytest.raises(InvalidArgsError) as caught:
        Function("api", FunctionArgs(handler=API, overrides={"aws": {"ephemeral_storag": 1}}))
    assert stack.resources == []
    error = caught.value
    assert error.field == "overrides.aws.ephemeral_storag"
    assert error.cloud == "aws"
    assert "ephemeral_storage" in error.limit and "memory_size" in error.limit


def test_resources_is_a_typed_dataclass_of_exactly_the_registered_resources(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        jobs = Queue("jobs")
        args = FunctionArgs(
            handler=API, http="public", schedule="rate(1 hour)", min_instances=1, links=[jobs.allow("send")]
        )
        fn = Function("api", args)
        resources = fn.resources
        assert isinstance(resources, AwsFunctionResources)
        held = []
        for field in dataclasses.fields(resources):
            value = getattr(resources, field.name)
            assert value is not None and value != (), f"{field.name} missing with every feature on"
            held.extend(value if isinstance(value, tuple) else [value])
        held_urns = [stack.resolve(resource.urn) for resource in held]
        registered = {r.urn for r in stack.descendants(stack.one("omnicloud:index:Function")) if r.custom}
    assert isinstance(resources.function, aws.lambda_.Function)
    assert isinstance(resources.role, aws.iam.Role)
    assert isinstance(resources.schedule, aws.scheduler.Schedule)
    assert len(held_urns) == len(set(held_urns))
    assert set(held_urns) == registered


def test_conditional_resources_are_none_when_their_feature_is_off(project_root: Path) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        fn = Function("api", FunctionArgs(handler=API))
        resources = fn.resources
        base = [resources.function, resources.role, resources.log_group, resources.log_policy]
        base_urns = {stack.resolve(r.urn) for r in base}
        registered = {r.urn for r in stack.find() if r.custom}
    optional = [
        f.name for f in dataclasses.fields(resources) if f.name not in {"function", "role", "log_group", "log_policy"}
    ]
    for name in optional:
        assert getattr(resources, name) in (None, ()), name
    assert base_urns == registered


# -- bad input fails before anything is registered ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fields", "field", "value", "limit"),
    [
        ("api", {"memory_mb": 64}, "memory_mb", 64, "128-10240"),
        ("api", {"memory_mb": 20000}, "memory_mb", 20000, "128-10240"),
        ("api", {"timeout_s": 901}, "timeout_s", 901, "900"),
        ("api", {"log_retention_days": 8}, "log_retention_days", 8, "(1, 3, 5, 7, 14, 30"),
        ("api", {"min_instances": 3, "max_instances": 2}, "min_instances", 3, "max_instances=2"),
        ("my.api", {}, "name", "my.api", "letters, digits, '-' and '_'"),
        ("a" * 52, {}, "name", "a" * 52, "at most 51 characters"),
        ("a" * 47, {"schedule": "rate(1 day)"}, "name", "a" * 47, "at most 46 characters"),
        ("api", {"schedule": "cron(0 0 1 * MON)"}, "schedule", "cron(0 0 1 * MON)", "day-of-month and day-of-week"),
        ("api", {"description": "d" * 257}, "description", "d" * 257, "256"),
        ("api", {"tags": {f"k{i}": "v" for i in range(48)}}, "tags", None, "at most 50 tags"),
        ("api", {"tags": {"k": "v" * 257}}, "tags.k", "v" * 257, "at most 256"),
    ],
    ids=[
        "memory-too-small",
        "memory-too-large",
        "timeout-too-long",
        "retention-not-a-cloudwatch-value",
        "min-above-max",
        "name-with-dot",
        "name-too-long",
        "scheduled-name-too-long",
        "both-day-fields",
        "description-too-long",
        "too-many-tags",
        "tag-value-too-long",
    ],
)
def test_bad_input_fails_before_anything_is_registered(
    project_root: Path, name: str, fields: dict[str, Any], field: str, value: Any, limit: str
) -> None:
    with MockStack(cloud="aws", root=project_root) as stack, pytest.raises(InvalidArgsError) as caught:
        Function(name, FunctionArgs(handler=API, **fields))
    assert stack.resources == []
    error = caught.value
    message = str(error)
    assert error.component == f"Function '{name}'" and f"Function '{name}'" in message
    assert error.field == field and field in message
    if value is not None:
        assert error.value == value and repr(value) in message
    assert limit in message
    assert error.cloud == "aws" and "on aws" in message


@pytest.mark.parametrize(
    ("fields", "ok"),
    [
        ({"memory_mb": 128}, True),
        ({"memory_mb": 10240}, True),
        ({"timeout_s": 900}, True),
        ({"min_instances": 2, "max_instances": 2}, True),
        ({"log_retention_days": 3653}, True),
    ],
)
def test_values_at_the_limits_are_accepted(project_root: Path, fields: dict[str, Any], ok: bool) -> None:
    with MockStack(cloud="aws", root=project_root) as stack:
        Function("api", FunctionArgs(handler=API, **fields))
        assert len(stack.find(LAMBDA)) == 1


def test_a_missing_cloud_names_the_config_key_and_the_choices_before_registering(project_root: Path) -> None:
    with MockStack(root=project_root) as stack, pytest.raises(CloudSelectionError) as caught:
        Function("api", FunctionArgs(handler=API))
    assert stack.resources == []
    message = str(caught.value)
    assert "omnicloud:cloud" in message and "<not set>" in message
    for choice in ("aws", "azure", "gcp", "local"):
        assert choice in message


def test_an_unknown_cloud_is_named_in_the_error_before_registering(project_root: Path) -> None:
    with MockStack(cloud="oracle", root=project_root) as stack, pytest.raises(CloudSelectionError) as caught:
        Function("api", FunctionArgs(handler=API))
    assert stack.resources == []
    message = str(caught.value)
    assert "omnicloud:cloud" in message and "'oracle'" in message and "aws, azure, gcp, local" in message


def test_an_explicit_cloud_wins_over_the_stack_config(project_root: Path) -> None:
    with MockStack(cloud="gcp", root=project_root) as stack:
        fn = Function("api", FunctionArgs(handler=API), cloud="aws")
        assert fn.cloud == "aws"
        assert len(stack.find(LAMBDA)) == 1
        assert not [r for r in stack.resources if r.type.startswith("gcp:")]
