"""Workflow on AWS: a Standard Step Functions state machine compiled from the portable definition.

What gets registered (children of the component):

* ``aws:iam/role:Role`` ``<name>-role``: assumed by Step Functions only.
* ``aws:iam/rolePolicy:RolePolicy`` ``<name>-invoke``: ``lambda:InvokeFunction`` on exactly the
  Lambdas (and their ``live`` aliases) the tasks call — nothing else can be invoked.
* ``aws:cloudwatch/logGroup:LogGroup`` ``<name>-logs``:
  ``/aws/vendedlogs/states/omnicloud/<project>/<stack>/<name>`` with the requested retention.
  The ``/aws/vendedlogs/`` prefix is AWS's advice for vended logs: CloudWatch Logs then covers
  every such group with one resource-policy entry instead of growing the account's 5 KB
  resource policy per state machine.
* ``aws:iam/rolePolicy:RolePolicy`` ``<name>-logs``: the CloudWatch Logs *log delivery*
  actions Step Functions needs to write execution logs. AWS documents them as supporting no
  resource-level permissions, so they are the one ``"Resource": "*"`` statement omnicloud
  writes; none of them reads or writes log data.
* ``aws:sfn/stateMachine:StateMachine`` ``<name>``: ``STANDARD`` (exactly-once steps, up to a
  year per execution, full history), the ASL from :func:`providers.aws.asl.compile_asl`,
  logging level ``ERROR`` to that group (failed steps with their error and cause, no
  execution data).

A task calls the Lambda through ``arn:aws:states:::lambda:invoke`` with the task envelope as
payload (:mod:`components.runtime.orchestration.task`); a function with ``min_instances`` is
called through its ``live`` alias, like its other triggers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.errors import require
from components.workflow import WorkflowArgs
from providers.aws import grants, naming
from providers.aws.asl import check_definition, compile_asl
from providers.aws.function import LOG_RETENTION_DAYS
from providers.protocols import ComponentOutputs
from providers.shared import apply_overrides, tags_for

CLOUD = "aws"
LIMITATIONS = {
    "first_failure_in_order": (
        "branches and Map items run concurrently; when several fail, Step Functions reports the one that failed "
        "first in time, not the first in order"
    ),
}
"""Semantic gaps the support matrix states (``tests/contract/test_workflow_features.py``)."""
STATE_MACHINE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
STATE_MACHINE_NAME_MAX = 80
ROLE_SUFFIX = "-role"
VENDED_LOGS_PREFIX = "/aws/vendedlogs/states"
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)
"""What the Step Functions developer guide ("Logging using CloudWatch Logs") requires of the
state machine's role; these log-delivery APIs take no resource ARN."""


@dataclass(frozen=True)
class AwsWorkflowResources:
    """The native resources behind a Workflow on AWS."""

    state_machine: aws.sfn.StateMachine
    role: aws.iam.Role
    invoke_policy: aws.iam.RolePolicy
    log_group: aws.cloudwatch.LogGroup
    log_policy: aws.iam.RolePolicy


class AwsWorkflowProvider:
    """Builds :class:`components.Workflow` on AWS Step Functions."""

    LIMITATIONS = LIMITATIONS

    def validate(self, name: str, args: WorkflowArgs) -> None:
        component = f"Workflow '{name}'"
        limit = min(STATE_MACHINE_NAME_MAX, naming.ROLE_NAME_MAX - len(ROLE_SUFFIX)) - naming.AUTONAME_SUFFIX
        require(
            bool(STATE_MACHINE_NAME.match(name)) and len(name) <= limit,
            component,
            "name",
            name,
            f"letters, digits, '-' and '_', at most {limit} characters (the role is '<name>{ROLE_SUFFIX}' "
            f"and Pulumi adds an {naming.AUTONAME_SUFFIX}-character suffix)",
            cloud=CLOUD,
        )
        require(
            args.log_retention_days in LOG_RETENTION_DAYS,
            component,
            "log_retention_days",
            args.log_retention_days,
            f"CloudWatch Logs retention is one of {LOG_RETENTION_DAYS} days",
            cloud=CLOUD,
        )
        naming.check_tags(component, name, args)
        check_definition(args.definition())
        apply_overrides(component, CLOUD, aws.sfn.StateMachine, {}, args.overrides)

    def create(
        self, name: str, args: WorkflowArgs, functions: Mapping[str, Any], parent: pulumi.ComponentResource
    ) -> ComponentOutputs:
        component = f"Workflow '{name}'"
        child = pulumi.ResourceOptions(parent=parent)
        tags = tags_for(name, args)
        role = aws.iam.Role(
            f"{name}{ROLE_SUFFIX}",
            assume_role_policy=grants.assume_role_policy("states.amazonaws.com"),
            description=f"Execution role of omnicloud Workflow '{name}'",
            tags=tags,
            opts=child,
        )
        invoke_policy = _invoke_policy(name, functions, role, child)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=VENDED_LOGS_PREFIX + naming.log_group_name(pulumi.get_project(), pulumi.get_stack(), name),
            retention_in_days=args.log_retention_days,
            tags=tags,
            opts=child,
        )
        log_policy = aws.iam.RolePolicy(
            f"{name}-logs",
            role=role.id,
            policy=grants.policy_document(
                [
                    {
                        "Sid": grants.sid("workflow", "log", "delivery"),
                        "Effect": "Allow",
                        "Action": list(LOG_DELIVERY_ACTIONS),
                        "Resource": "*",
                    }
                ]
            ),
            opts=child,
        )
        definition = args.definition()
        targets = {logical: _invocation_arn(function) for logical, function in functions.items()}
        definition_json = pulumi.Output.all(**targets).apply(
            lambda arns: json.dumps(compile_asl(definition, arns, workflow=name), sort_keys=True)
        )
        machine_kwargs = apply_overrides(
            component,
            CLOUD,
            aws.sfn.StateMachine,
            {
                "type": "STANDARD",
                "role_arn": role.arn,
                "definition": definition_json,
                "logging_configuration": aws.sfn.StateMachineLoggingConfigurationArgs(
                    level="ERROR",
                    include_execution_data=False,
                    # Step Functions wants the log group ARN with its streams' wildcard.
                    log_destination=log_group.arn.apply(lambda arn: f"{arn}:*"),
                ),
                "tags": tags,
            },
            args.overrides,
        )
        # The role must be able to invoke and to deliver logs before the first execution.
        machine = aws.sfn.StateMachine(
            name, **machine_kwargs, opts=pulumi.ResourceOptions(parent=parent, depends_on=[invoke_policy, log_policy])
        )
        return ComponentOutputs(
            name=machine.name,
            resource_id=machine.arn,
            locator=machine.arn.apply(lambda arn: {"kind": "workflow", "cloud": CLOUD, "name": name, "arn": arn}),
            resources=AwsWorkflowResources(
                state_machine=machine,
                role=role,
                invoke_policy=invoke_policy,
                log_group=log_group,
                log_policy=log_policy,
            ),
        )


def _invocation_arn(function: Any) -> pulumi.Output[str]:
    """What a task invokes: the ``live`` alias when the function keeps warm instances."""
    alias = getattr(function.resources, "alias", None)
    return alias.arn if alias is not None else function.resource_id


def _invoke_policy(
    name: str, functions: Mapping[str, Any], role: aws.iam.Role, opts: pulumi.ResourceOptions
) -> aws.iam.RolePolicy:
    """``lambda:InvokeFunction`` on the called functions' exact ARNs (one statement each)."""
    statements = [
        {
            "Sid": grants.sid("workflow", "task", "invoke", logical),
            "Effect": "Allow",
            "Action": list(grants.actions("function", "invoke")),
            "Resource": grants.access_to(function, ["invoke"]).resources["invoke"],
        }
        for logical, function in sorted(functions.items())
    ]
    return aws.iam.RolePolicy(
        f"{name}-invoke",
        role=role.id,
        policy=grants.policy_document(statements),
        opts=opts,
    )
