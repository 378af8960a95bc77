"""Per-stack GCP resources shared by every Function: the source-archive bucket.

They hang off their own small component at the stack root (not off a Function), so removing
one function never deletes what the others deploy from.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from providers.gcp import naming
from providers.shared import stack_singleton

STACK_TYPE = "omnicloud:gcp:StackResources"
DEFAULT_REGION = "us-central1"


@dataclass(frozen=True)
class GcpStackResources:
    """What every Function on GCP in this stack shares."""

    component: pulumi.ComponentResource
    source_bucket: gcp.storage.Bucket
    """Holds the functions' source archives, one object per content hash."""
    region: str
    """Where functions, their bucket and their schedules live (``gcp:region``)."""


def region() -> str:
    """``gcp:region`` from stack config, else ``us-central1``."""
    return pulumi.Config("gcp").get("region") or DEFAULT_REGION


def stack_resources() -> GcpStackResources:
    """The stack's shared resources, created on first use."""
    return stack_singleton("gcp:stack", _create)


def _create() -> GcpStackResources:
    where = region()
    component = pulumi.ComponentResource(STACK_TYPE, "omnicloud-gcp", None, None)
    labels = naming.labels(
        {"omnicloud-project": pulumi.get_project(), "omnicloud-stack": pulumi.get_stack()}
    )
    bucket = gcp.storage.Bucket(
        "omnicloud-sources",
        # Cloud Storage reports locations upper-case; writing it so avoids a perpetual diff.
        location=where.upper(),
        uniform_bucket_level_access=True,
        public_access_prevention="enforced",
        # Objects are replaced (new name per content hash) and old ones deleted by Pulumi, so
        # no lifecycle rule is needed; a non-empty bucket is never destroyed by accident.
        force_destroy=False,
        labels=labels,
        opts=pulumi.ResourceOptions(parent=component),
    )
    component.register_outputs({"source_bucket": bucket.name})
    return GcpStackResources(component=component, source_bucket=bucket, region=where)
