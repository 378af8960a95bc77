"""Function on AWS: Lambda with its own role, log group, Function URL and Scheduler schedule.

What gets registered (children of the component):

* ``aws:iam/role:Role`` ``<name>-role``: assumed by Lambda only.
* ``aws:cloudwatch/logGroup:LogGroup`` ``<name>-logs``: ``/omnicloud/<project>/<stack>/<name>``
  with the requested retention; the function logs there in JSON.
* ``aws:iam/rolePolicy:RolePolicy`` ``<name>-logs``: ``logs:CreateLogStream`` and
  ``logs:PutLogEvents`` on that log group only (no managed ``*FullAccess`` policy).
* ``aws:lambda/function:Function`` ``<name>``: arm64 by default, code from the deterministic
  archive, reserved concurrency for ``max_instances``.
* ``min_instances``: a published version, alias ``live`` and provisioned concurrency on it;
  the URL and the schedule then target the alias so they hit the warm instances.
* ``http``: a Function URL (``NONE`` auth for public, ``AWS_IAM`` for private); public adds
  the two resource-policy statements AWS requires for unauthenticated URL calls.
* ``schedule``: an EventBridge Scheduler schedule with its own role (may invoke exactly this
  function), retries, and an SQS dead-letter queue that also receives the function's failed
  asynchronous invocations.
* ``links``: one ``aws:iam/rolePolicy:RolePolicy`` ``<name>-<kind>-<target>`` per link, exact
  actions on exact ARNs from the verb table in :mod:`providers.aws.grants`.

The environment always holds ``OMNICLOUD_TRIGGERS``: the JSON list of what subscribes this
function (queues, tables, bus rules by ARN), filled in by ``subscribe``/``on_change`` calls
that come after the Function in the program; ``[]`` when nothing does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.errors import InvalidArgsError, require
from components.function_args import FunctionArgs
from components.packaging import ArchiveSpec, Vendored, build_archive
from components.schedule import parse_schedule
from providers.aws import grants, naming
from providers.aws.schedule import UnsupportedSchedule, to_scheduler_expression
from providers.protocols import FunctionOutputs
from providers.shared import (
    TRIGGERS_ENV,
    apply_overrides,
    cross_cloud_links,
    merged_environment,
    tags_for,
    triggers_of,
)

MEMORY_MB = (128, 10240)
TIMEOUT_MAX_S = 900
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
MAX_TAGS = 50
DESCRIPTION_MAX = 256
ENTRY_HANDLER = "components.runtime.adapters.aws.handler"
ALIAS = "live"
# Scheduler retries a failed delivery this many times, for up to a day, then dead-letters.
SCHEDULE_RETRIES = 3
SCHEDULE_MAX_EVENT_AGE_S = 86400
DLQ_RETENTION_S = 14 * 86400

_RUNTIMES = {
    "python3.11": aws.lambda_.Runtime.PYTHON3D11,
    "python3.12": aws.lambda_.Runtime.PYTHON3D12,
    "python3.13": aws.lambda_.Runtime.PYTHON3D13,
}
_WHEEL_PLATFORMS = {
    "arm64": ("manylinux2014_aarch64", "manylinux_2_28_aarch64"),
    "x86_64": ("manylinux2014_x86_64", "manylinux_2_28_x86_64"),
}


@dataclass(frozen=True)
class AwsFunctionResources:
    """The native resources behind a Function on AWS."""

    function: aws.lambda_.Function
    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup
    log_policy: aws.iam.RolePolicy
    link_policies: tuple[aws.iam.RolePolicy, ...] = ()
    """One inline policy per link, in the order of ``FunctionArgs.links``."""
    alias: aws.lambda_.Alias | None = None
    provisioned_concurrency: aws.lambda_.ProvisionedConcurrencyConfig | None = None
    url: aws.lambda_.FunctionUrl | None = None
    url_permissions: tuple[aws.lambda_.Permission, ...] = ()
    schedule: aws.scheduler.Schedule | None = None
    scheduler_role: aws.iam.Role | None = None
    scheduler_policy: aws.iam.RolePolicy | None = None
    dead_letter_queue: aws.sqs.Queue | None = None
    dead_letter_policy: aws.iam.RolePolicy | None = None
    async_invoke_config: aws.lambda_.FunctionEventInvokeConfig | None = None


class AwsFunctionProvider:
    """Builds :class:`components.Function` on AWS Lambda."""

    def validate(self, name: str, args: FunctionArgs) -> None:
        component = f"Function '{name}'"
        naming.check_function_name(component, name, scheduled=args.schedule is not None)
        cross_cloud_links(component, "aws", args.links)
        # Unknown override keys must fail here, before create() registers anything.
        apply_overrides(component, "aws", aws.lambda_.Function, {}, args.overrides)
        description = _description(name, args)
        require(
            len(description) <= DESCRIPTION_MAX,
            component,
            "description",
            description,
            f"Lambda descriptions are at most {DESCRIPTION_MAX} characters",
            cloud="aws",
        )
        low, high = MEMORY_MB
        require(
            low <= args.memory_mb <= high,
            component,
            "memory_mb",
            args.memory_mb,
            f"Lambda memory is {low}-{high} MB",
            cloud="aws",
        )
        require(
            args.timeout_s <= TIMEOUT_MAX_S,
            component,
            "timeout_s",
            args.timeout_s,
            f"Lambda runs at most {TIMEOUT_MAX_S} s",
            cloud="aws",
        )
        require(
            args.log_retention_days in LOG_RETENTION_DAYS,
            component,
            "log_retention_days",
            args.log_retention_days,
            f"CloudWatch Logs retention is one of {LOG_RETENTION_DAYS} days",
            cloud="aws",
        )
        if args.max_instances is not None:
            require(
                args.min_instances <= args.max_instances,
                component,
                "min_instances",
                args.min_instances,
                f"provisioned concurrency cannot exceed reserved concurrency (max_instances={args.max_instances})",
                cloud="aws",
            )
        require(
            len(tags_for(name, args)) <= MAX_TAGS,
            component,
            "tags",
            args.tags,
            f"Lambda allows at most {MAX_TAGS} tags",
            cloud="aws",
        )
        for key, value in args.tags.items():
            require(
                len(key) <= 128 and len(value) <= 256,
                component,
                f"tags.{key}",
                value,
                "AWS tag keys are at most 128 characters, values at most 256",
                cloud="aws",
            )
        if args.schedule is not None:
            try:
                to_scheduler_expression(parse_schedule(args.schedule))
            except UnsupportedSchedule as exc:
                raise InvalidArgsError(component, "schedule", args.schedule, str(exc), cloud="aws") from None

    def create(self, name: str, args: FunctionArgs, parent: pulumi.ComponentResource) -> FunctionOutputs:
        child = pulumi.ResourceOptions(parent=parent)
        tags = tags_for(name, args)
        architecture = args.architecture or "arm64"
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=grants.assume_role_policy("lambda.amazonaws.com"),
            description=f"Execution role of omnicloud Function '{name}'",
            tags=tags,
            opts=child,
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=naming.log_group_name(pulumi.get_project(), pulumi.get_stack(), name),
            retention_in_days=args.log_retention_days,
            tags=tags,
            opts=child,
        )
        log_policy = aws.iam.RolePolicy(
            f"{name}-logs",
            role=role.id,
            policy=log_group.arn.apply(
                lambda arn: _policy(
                    [
                        {
                            "Sid": "FunctionLogs",
                            # Log streams are named by Lambda at run time: the group's streams.
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                            "Resource": f"{arn}:*",
                        }
                    ]
                )
            ),
            opts=child,
        )
        # Links are granted before the function exists, so its first invocation can use them.
        link_policies = tuple(
            grants.grant(parent, link.target, link.verbs, "link", role=role, opts=child) for link in args.links
        )
        archive = build_archive(
            ArchiveSpec(
                handler=args.handler,
                dependencies=Vendored(
                    platforms=_WHEEL_PLATFORMS[architecture],
                    python_version=args.runtime.removeprefix("python"),
                ),
            ),
            component=f"Function '{name}'",
        )
        function_kwargs = apply_overrides(
            f"Function '{name}'",
            "aws",
            aws.lambda_.Function,
            {
                "role": role.arn,
                "runtime": _RUNTIMES[args.runtime],
                "handler": ENTRY_HANDLER,
                "code": pulumi.FileArchive(str(archive.path)),
                "source_code_hash": archive.base64_sha256,
                "architectures": [architecture],
                "memory_size": args.memory_mb,
                "timeout": args.timeout_s,
                "description": _description(name, args),
                "environment": aws.lambda_.FunctionEnvironmentArgs(variables=_environment(name, args, parent)),
                "logging_config": aws.lambda_.FunctionLoggingConfigArgs(
                    log_format="JSON",
                    log_group=log_group.name,
                    application_log_level="INFO",
                    system_log_level="WARN",
                ),
                # -1 means "unreserved" to the provider; a number caps concurrent instances.
                "reserved_concurrent_executions": args.max_instances if args.max_instances else -1,
                "publish": args.min_instances > 0,
                "tags": tags,
            },
            args.overrides,
        )
        function = aws.lambda_.Function(
            name,
            **function_kwargs,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[log_policy, log_group, *link_policies]),
        )
        resources = AwsFunctionResources(
            function=function, role=role, log_group=log_group, log_policy=log_policy, link_policies=link_policies
        )
        target_arn: pulumi.Output[str] = function.arn
        qualifier: pulumi.Input[str] | None = None
        if args.min_instances > 0:
            alias = aws.lambda_.Alias(
                f"{name}-{ALIAS}",
                name=ALIAS,
                function_name=function.name,
                function_version=function.version,
                opts=child,
            )
            provisioned = aws.lambda_.ProvisionedConcurrencyConfig(
                f"{name}-warm",
                function_name=function.name,
                qualifier=alias.name,
                provisioned_concurrent_executions=args.min_instances,
                opts=child,
            )
            resources = _replace(resources, alias=alias, provisioned_concurrency=provisioned)
            target_arn = alias.arn
            qualifier = alias.name
        url: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        if args.http is not None:
            function_url, permissions = _function_url(name, args.http, function, qualifier, child)
            resources = _replace(resources, url=function_url, url_permissions=permissions)
            url = function_url.function_url
        if args.schedule is not None:
            resources = _schedule(name, args, resources, target_arn, qualifier, tags, child)
        return FunctionOutputs(
            name=function.name,
            resource_id=function.arn,
            url=url,
            identity=role.arn,
            resources=resources,
        )


def _function_url(
    name: str,
    access: str,
    function: aws.lambda_.Function,
    qualifier: pulumi.Input[str] | None,
    opts: pulumi.ResourceOptions,
) -> tuple[aws.lambda_.FunctionUrl, tuple[aws.lambda_.Permission, ...]]:
    auth = "NONE" if access == "public" else "AWS_IAM"
    function_url = aws.lambda_.FunctionUrl(
        f"{name}-url",
        function_name=function.name,
        qualifier=qualifier,
        authorization_type=auth,
        invoke_mode="BUFFERED",
        opts=opts,
    )
    if access != "public":
        # AWS_IAM URLs are reachable only by principals granted lambda:InvokeFunctionUrl.
        return function_url, ()
    # Since October 2025 a public URL needs both statements: InvokeFunctionUrl for the URL
    # itself and InvokeFunction restricted to calls that arrive through a function URL.
    permissions = (
        aws.lambda_.Permission(
            f"{name}-url-public",
            action="lambda:InvokeFunctionUrl",
            function=function.name,
            qualifier=qualifier,
            principal="*",
            function_url_auth_type="NONE",
            opts=opts,
        ),
        aws.lambda_.Permission(
            f"{name}-url-invoke",
            action="lambda:InvokeFunction",
            function=function.name,
            qualifier=qualifier,
            principal="*",
            invoked_via_function_url=True,
            opts=opts,
        ),
    )
    return function_url, permissions


def _schedule(
    name: str,
    args: FunctionArgs,
    resources: AwsFunctionResources,
    target_arn: pulumi.Output[str],
    qualifier: pulumi.Input[str] | None,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> AwsFunctionResources:
    assert args.schedule is not None
    dead_letters = aws.sqs.Queue(
        f"{name}-schedule-dlq",
        message_retention_seconds=DLQ_RETENTION_S,
        sqs_managed_sse_enabled=True,
        tags=tags,
        opts=opts,
    )
    scheduler_role = aws.iam.Role(
        f"{name}-scheduler",
        assume_role_policy=grants.assume_role_policy("scheduler.amazonaws.com"),
        description=f"Lets EventBridge Scheduler invoke omnicloud Function '{name}'",
        tags=tags,
        opts=opts,
    )
    scheduler_policy = aws.iam.RolePolicy(
        f"{name}-scheduler",
        role=scheduler_role.id,
        policy=pulumi.Output.all(target_arn, dead_letters.arn).apply(
            lambda arns: _policy(
                [
                    {"Sid": "ScheduleInvoke", "Action": ["lambda:InvokeFunction"], "Resource": arns[0]},
                    {"Sid": "ScheduleDeadLetter", "Action": ["sqs:SendMessage"], "Resource": arns[1]},
                ]
            )
        ),
        opts=opts,
    )
    # Scheduler invokes Lambda asynchronously: failures inside the function are retried by
    # Lambda and then sent to the same dead-letter queue, so nothing is silently dropped.
    dead_letter_policy = aws.iam.RolePolicy(
        f"{name}-dlq",
        role=resources.role.id,
        policy=dead_letters.arn.apply(
            lambda arn: _policy([{"Sid": "ScheduleAsyncDeadLetter", "Action": ["sqs:SendMessage"], "Resource": arn}])
        ),
        opts=opts,
    )
    async_config = aws.lambda_.FunctionEventInvokeConfig(
        f"{name}-async",
        function_name=resources.function.name,
        qualifier=qualifier,
        maximum_retry_attempts=2,
        maximum_event_age_in_seconds=SCHEDULE_MAX_EVENT_AGE_S // 4,
        destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
            on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(destination=dead_letters.arn)
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[dead_letter_policy])),
    )
    schedule = aws.scheduler.Schedule(
        f"{name}-schedule",
        description=f"omnicloud Function '{name}': {args.schedule}",
        schedule_expression=to_scheduler_expression(parse_schedule(args.schedule)),
        schedule_expression_timezone="UTC",
        flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
        target=aws.scheduler.ScheduleTargetArgs(
            arn=target_arn,
            role_arn=scheduler_role.arn,
            input=json.dumps(
                {
                    "omnicloud": {
                        "kind": "scheduled",
                        "schedule": args.schedule,
                        "time": "<aws.scheduler.scheduled-time>",
                        "execution_id": "<aws.scheduler.execution-id>",
                    }
                },
                sort_keys=True,
            ),
            retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                maximum_retry_attempts=SCHEDULE_RETRIES,
                maximum_event_age_in_seconds=SCHEDULE_MAX_EVENT_AGE_S,
            ),
            dead_letter_config=aws.scheduler.ScheduleTargetDeadLetterConfigArgs(arn=dead_letters.arn),
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[scheduler_policy])),
    )
    return _replace(
        resources,
        schedule=schedule,
        scheduler_role=scheduler_role,
        scheduler_policy=scheduler_policy,
        dead_letter_queue=dead_letters,
        dead_letter_policy=dead_letter_policy,
        async_invoke_config=async_config,
    )


def _environment(name: str, args: FunctionArgs, parent: pulumi.ComponentResource) -> pulumi.Output[dict[str, str]]:
    """The runtime's variables, links, the user's (and secrets), and the trigger list.

    The trigger list resolves once the program body has run (subscriptions come after the
    Function); the map stays secret as a whole when any secret is in it.
    """
    return pulumi.Output.all(merged_environment("aws", name, args), triggers_of(parent).output()).apply(
        lambda values: {**values[0], TRIGGERS_ENV: values[1]}
    )


def _description(name: str, args: FunctionArgs) -> str:
    return args.description or f"omnicloud Function '{name}' ({args.handler})"


def _policy(statements: list[dict[str, object]]) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **s} for s in statements]},
        sort_keys=True,
    )


def _replace(resources: AwsFunctionResources, **changes: object) -> AwsFunctionResources:
    import dataclasses

    return dataclasses.replace(resources, **changes)  # type: ignore[arg-type]
