"""Table on AWS: DynamoDB on demand, encrypted, with PITR, TTL, GSIs and a stream.

What gets registered (children of the component):

* ``aws:dynamodb/table:Table`` ``<name>``: ``PAY_PER_REQUEST`` (scales to zero), partition
  and sort keys typed ``S``/``N`` from ``key_types``, one global secondary index per
  ``IndexArgs`` (projection ``ALL``, so an index query returns whole items as on the other
  clouds), encryption with the AWS-managed key, point-in-time recovery as asked, TTL on
  ``ttl_attribute``, and a ``NEW_AND_OLD_IMAGES`` stream.

The stream is always on: enabling one later changes its ARN and ``on_change`` may be added
to a program at any time, and a stream nobody reads costs nothing (Lambda's reads of it are
free). ``deletion_protection_enabled`` stays off by default (``pulumi destroy`` must work on
a dev stack); set it with ``overrides={"aws": {"deletion_protection_enabled": True}}``.

``table.on_change(fn)`` adds, under the table component:

* ``aws:sqs/queue:Queue`` ``<name>-to-<fn>-dlq``: where the mapping describes batches that
  exhausted their retries (SSE-SQS, 14 days).
* ``aws:iam/rolePolicy:RolePolicy`` ``<fn>-on-table-<name>``: read this table's stream only
  and send to that dead-letter queue only.
* ``aws:lambda/eventSourceMapping:EventSourceMapping`` ``<name>-to-<fn>``: from ``LATEST``,
  partial batch responses, bisect on error, bounded retries, failure destination.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from components.errors import require
from components.table import ChangeSubscription, TableArgs
from providers.aws import grants, naming
from providers.aws.queue import DLQ_RETENTION_S, function_target_arn
from providers.protocols import ComponentOutputs
from providers.shared import apply_overrides, tags_for, triggers_of

if TYPE_CHECKING:
    from components.function import Function
    from components.table import Table

MAX_GSIS = 20
"""DynamoDB's default quota of global secondary indexes per table."""
ATTRIBUTE_NAME_MAX = 255
"""Key attribute names are at most 255 bytes."""
BATCH_SIZE = (1, 10000)
STREAM_RETRIES = 10
"""Retries of a failing batch (bisected each time) before it goes to the dead-letter queue."""
STREAM_VIEW = "NEW_AND_OLD_IMAGES"
_ATTRIBUTE_TYPES = {"string": "S", "number": "N"}


@dataclass(frozen=True)
class AwsTableResources:
    """The native resources behind a Table on AWS."""

    table: aws.dynamodb.Table


@dataclass(frozen=True)
class AwsTableChangeResources:
    """What ``table.on_change(fn)`` created."""

    mapping: aws.lambda_.EventSourceMapping
    policy: aws.iam.RolePolicy
    dead_letter_queue: aws.sqs.Queue


class AwsTableProvider:
    """Builds :class:`components.Table` on DynamoDB."""

    def validate(self, name: str, args: TableArgs) -> None:
        component = f"Table '{name}'"
        naming.check_table_name(component, name)
        apply_overrides(component, "aws", aws.dynamodb.Table, {}, args.overrides)
        require(
            len(args.indexes) <= MAX_GSIS,
            component,
            "indexes",
            [index.name for index in args.indexes],
            f"DynamoDB allows {MAX_GSIS} global secondary indexes per table (default quota)",
            cloud="aws",
        )
        for index in args.indexes:
            naming.check_index_name(component, f"indexes.{index.name}.name", index.name)
        for attribute in sorted(args.key_attributes() | ({args.ttl_attribute} if args.ttl_attribute else set())):
            require(
                len(attribute.encode()) <= ATTRIBUTE_NAME_MAX,
                component,
                "key attribute",
                attribute,
                f"DynamoDB key attribute names are at most {ATTRIBUTE_NAME_MAX} bytes",
                cloud="aws",
            )
        naming.check_tags(component, name, args)

    def create(self, name: str, args: TableArgs, parent: pulumi.ComponentResource) -> ComponentOutputs:
        table_kwargs = apply_overrides(
            f"Table '{name}'",
            "aws",
            aws.dynamodb.Table,
            {
                "billing_mode": "PAY_PER_REQUEST",
                "hash_key": args.partition_key,
                "range_key": args.sort_key,
                "attributes": [
                    aws.dynamodb.TableAttributeArgs(name=attribute, type=_ATTRIBUTE_TYPES[args.key_type(attribute)])
                    for attribute in sorted(args.key_attributes())
                ],
                "global_secondary_indexes": [
                    aws.dynamodb.TableGlobalSecondaryIndexArgs(
                        name=index.name,
                        projection_type="ALL",
                        key_schemas=[
                            aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                                attribute_name=index.partition_key, key_type="HASH"
                            ),
                            *(
                                [
                                    aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                                        attribute_name=index.sort_key, key_type="RANGE"
                                    )
                                ]
                                if index.sort_key
                                else []
                            ),
                        ],
                    )
                    for index in args.indexes
                ]
                or None,
                "server_side_encryption": aws.dynamodb.TableServerSideEncryptionArgs(enabled=True),
                "point_in_time_recovery": aws.dynamodb.TablePointInTimeRecoveryArgs(
                    enabled=args.point_in_time_recovery
                ),
                "ttl": (
                    aws.dynamodb.TableTtlArgs(attribute_name=args.ttl_attribute, enabled=True)
                    if args.ttl_attribute
                    else None
                ),
                "stream_enabled": True,
                "stream_view_type": STREAM_VIEW,
                "deletion_protection_enabled": False,
                "tags": tags_for(name, args),
            },
            args.overrides,
        )
        table = aws.dynamodb.Table(name, **table_kwargs, opts=pulumi.ResourceOptions(parent=parent))
        schema = args.key_schema()
        locator = pulumi.Output.all(table_name=table.name, arn=table.arn).apply(
            lambda v: {
                "kind": "table",
                "cloud": "aws",
                "name": name,
                "table_name": v["table_name"],
                "arn": v["arn"],
                "region": naming.region_of(v["arn"]),
                **schema,
            }
        )
        return ComponentOutputs(
            name=table.name, resource_id=table.arn, locator=locator, resources=AwsTableResources(table=table)
        )

    def validate_subscription(self, name: str, args: TableArgs, options: ChangeSubscription) -> None:
        low, high = BATCH_SIZE
        require(
            low <= options.batch_size <= high,
            f"Table '{name}'",
            "batch_size",
            options.batch_size,
            f"Lambda reads {low}-{high} stream records per batch",
            cloud="aws",
        )

    def on_change(self, table: Table, function: Function, options: ChangeSubscription) -> AwsTableChangeResources:
        base = f"{table.logical_name}-to-{function.logical_name}"
        naming.check_queue_name(f"Table '{table.logical_name}'", "on_change", base, suffix="-dlq", fifo=False)
        child = pulumi.ResourceOptions(parent=table)
        tags = tags_for(table.logical_name, table.args)
        stream_arn: pulumi.Output[str] = table.resources.table.stream_arn
        dead_letters = aws.sqs.Queue(
            f"{base}-dlq",
            message_retention_seconds=DLQ_RETENTION_S,
            sqs_managed_sse_enabled=True,
            tags=tags,
            opts=child,
        )
        policy = grants.grant_access(
            f"{function.logical_name}-on-table-{table.logical_name}",
            function.resources.role,
            [
                grants.Access("trigger:table", ("consume",), {"consume": [stream_arn]}),
                grants.Access("trigger:dead-letter", ("send",), {"send": [dead_letters.arn]}),
            ],
            "trigger",
            child,
        )
        mapping = aws.lambda_.EventSourceMapping(
            base,
            event_source_arn=stream_arn,
            function_name=function_target_arn(function),
            starting_position="LATEST",
            batch_size=options.batch_size,
            function_response_types=["ReportBatchItemFailures"],
            # A failing record splits its batch until it is alone, so the records before it
            # are delivered; after the retries it is described in the dead-letter queue and
            # the shard moves on instead of blocking for the stream's 24 h.
            bisect_batch_on_function_error=True,
            maximum_retry_attempts=STREAM_RETRIES,
            destination_config=aws.lambda_.EventSourceMappingDestinationConfigArgs(
                on_failure=aws.lambda_.EventSourceMappingDestinationConfigOnFailureArgs(
                    destination_arn=dead_letters.arn
                )
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=table, depends_on=[policy]),
        )
        triggers_of(function).add({"kind": "table", "name": table.logical_name, "source": stream_arn})
        return AwsTableChangeResources(mapping=mapping, policy=policy, dead_letter_queue=dead_letters)
