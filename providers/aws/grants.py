"""The AWS verb table: what each declared verb or trigger may do, on which exact ARNs.

One inline policy (``aws.iam.RolePolicy``) per link and per trigger, on the function's own
role, with one statement per verb. Every statement names exact actions on exact ARNs: the
table's ARN and each of its index ARNs (``<table ARN>/index/<name>``, never ``/index/*``),
the queue's, the bus's, the function's (and its alias'), the stream's. Its ``Sid`` says
where it came from (``LinkTableRead``, ``TriggerQueueConsume``...), so every permission in
the account traces back to a verb in the program.

Deliberately absent: ``dynamodb:BatchWriteItem`` (its ``DeleteRequest`` would let a
``write``-only function delete), ``Scan`` (the client never scans), any ``kms:`` action
(queues use SQS-managed keys and tables the AWS-managed DynamoDB key, which IAM principals
of the account use through the service without a grant).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.errors import InvalidArgsError

ACTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "table": {
        "read": ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem"),
        "write": ("dynamodb:PutItem", "dynamodb:UpdateItem"),
        "delete": ("dynamodb:DeleteItem",),
    },
    "queue": {
        "send": ("sqs:SendMessage", "sqs:GetQueueAttributes"),
        "receive": (
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueAttributes",
        ),
    },
    "bus": {"publish": ("events:PutEvents",)},
    "function": {"invoke": ("lambda:InvokeFunction",)},
    "workflow": {"start": ("states:StartExecution",)},
    # What a trigger needs: Lambda's event source mapping polls with the function's role.
    "trigger:queue": {
        "consume": (
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ChangeMessageVisibility",
        ),
    },
    "trigger:table": {
        "consume": (
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
            "dynamodb:ListStreams",
        ),
    },
    # A trigger's failure destination (the mapping sends the failed batch's description there).
    "trigger:dead-letter": {"send": ("sqs:SendMessage",)},
}
"""``ACTIONS[kind][verb]``: the IAM actions a verb grants on a component of that kind."""


@dataclass(frozen=True)
class Access:
    """Verbs of one verb-table kind on exact resource ARNs."""

    kind: str
    """A key of :data:`ACTIONS` (``"table"``, ``"trigger:queue"``...)."""
    verbs: tuple[str, ...]
    resources: dict[str, pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Per verb, the exact ARNs its actions apply to."""


def actions(kind: str, verb: str) -> tuple[str, ...]:
    """The IAM actions of ``verb`` on a ``kind``; KeyError names what exists."""
    try:
        return ACTIONS[kind][verb]
    except KeyError:
        known = ", ".join(f"{k}:{v}" for k, verbs in ACTIONS.items() for v in verbs)
        raise KeyError(f"no AWS grant for {kind}:{verb}; the verb table has {known}") from None


def access_to(target: Any, verbs: Sequence[str], kind: str | None = None) -> Access:
    """The exact ARNs ``verbs`` on the component ``target`` apply to.

    ``resource_id`` is the ARN on AWS for every component; a table's reads also reach each
    index by its own ARN, and a function with an alias is also invoked through it.
    """
    table_kind: str = kind or target.KIND
    resources: dict[str, pulumi.Input[Sequence[pulumi.Input[str]]]] = {}
    for verb in verbs:
        actions(table_kind, verb)
        arn: pulumi.Output[str] = target.resource_id
        if table_kind == "table" and verb == "read":
            names = [index.name for index in target.args.indexes]
            resources[verb] = arn.apply(lambda a, names=names: [a, *(f"{a}/index/{n}" for n in names)])
        elif table_kind == "function":
            alias = getattr(getattr(target, "resources", None), "alias", None)
            resources[verb] = (
                pulumi.Output.all(arn, alias.arn).apply(lambda arns: list(arns)) if alias is not None else [arn]
            )
        else:
            resources[verb] = [arn]
    return Access(table_kind, tuple(verbs), resources)


def grant(
    function: Any,
    target: Any,
    verbs: Sequence[str],
    reason: str,
    *,
    role: aws.iam.Role | None = None,
    opts: pulumi.ResourceOptions | None = None,
) -> aws.iam.RolePolicy:
    """Let ``function`` (a Function component) do ``verbs`` on the component ``target``.

    ``reason`` is ``"link"`` (a declared ``allow(...)``) or ``"trigger"``; it prefixes every
    statement's Sid. ``role`` defaults to the function's role (pass it while the Function is
    still being built). One inline policy named ``<function>-<kind>-<target>``.
    """
    kind = target.KIND if reason != "trigger" else f"trigger:{target.KIND}"
    for verb in verbs:
        if verb not in ACTIONS.get(kind, {}):
            raise InvalidArgsError(
                f"Function '{function.logical_name}'",
                "links",
                f"{target.KIND} '{target.logical_name}'.{verb}",
                f"AWS has no grant for {kind}:{verb}",
                cloud="aws",
            )
    name = f"{function.logical_name}-{target.KIND}-{target.logical_name}"
    if reason == "trigger":
        name = f"{function.logical_name}-on-{target.KIND}-{target.logical_name}"
    return grant_access(name, role or function.resources.role, [access_to(target, verbs, kind)], reason, opts)


def grant_access(
    name: str,
    role: aws.iam.Role,
    accesses: Sequence[Access],
    reason: str,
    opts: pulumi.ResourceOptions | None = None,
) -> aws.iam.RolePolicy:
    """One inline policy on ``role`` with a statement per (kind, verb) of ``accesses``."""
    statements: list[dict[str, Any]] = []
    for access in accesses:
        for verb in access.verbs:
            statements.append(
                {
                    # "trigger:queue" under reason "trigger" reads TriggerQueueConsume.
                    "Sid": sid(reason, access.kind.removeprefix(f"{reason}:"), verb),
                    "Effect": "Allow",
                    "Action": sorted(actions(access.kind, verb)),
                    "Resource": access.resources[verb],
                }
            )
    return aws.iam.RolePolicy(name, role=role.id, policy=policy_document(statements), opts=opts)


def policy_document(statements: list[dict[str, Any]]) -> pulumi.Output[str]:
    """A policy JSON (sorted keys) from statements whose values may be Outputs."""
    return pulumi.Output.from_input(statements).apply(
        lambda resolved: json.dumps({"Version": "2012-10-17", "Statement": resolved}, sort_keys=True)
    )


def assume_role_policy(service: str) -> str:
    """The trust policy of a role only ``service`` (``"lambda.amazonaws.com"``...) may assume."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        },
        sort_keys=True,
    )


def sid(*parts: str) -> str:
    """``("link", "table", "read")`` → ``"LinkTableRead"`` (Sids are alphanumeric)."""
    words = [w for part in parts for w in re.split(r"[^A-Za-z0-9]+", part) if w]
    return "".join(w[:1].upper() + w[1:] for w in words)
