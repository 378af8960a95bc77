"""The identity a Google service delivers to a function with (push, Eventarc): one place.

Pub/Sub push subscriptions, Eventarc pipelines and Eventarc triggers all call the function's
Cloud Run service with an OIDC token of a service account of ours. That account may invoke
exactly this service, and the Google agent that mints the tokens (Pub/Sub's or Eventarc's)
may create tokens for exactly this account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp


@dataclass(frozen=True)
class DeliveryIdentity:
    """The account, its invoker binding on the function's service, and the signer's grant."""

    account: gcp.serviceaccount.Account
    invoker: gcp.cloudrunv2.ServiceIamMember
    token_creator: gcp.serviceaccount.IAMMember


def delivery_identity(
    names: tuple[str, str, str],
    *,
    account_id: str,
    display_name: str,
    description: str,
    function: Any,
    signer: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> DeliveryIdentity:
    """Create the identity; ``names`` are the logical names of the account, the invoker
    binding and the token-creator binding; ``signer`` is the agent's IAM member."""
    from providers.gcp.function import run_service

    fn = function.resources.function
    account = gcp.serviceaccount.Account(
        names[0],
        account_id=account_id,
        display_name=display_name[:100],
        description=description,
        opts=opts,
    )
    invoker = gcp.cloudrunv2.ServiceIamMember(
        names[1],
        project=fn.project,
        location=fn.location,
        name=run_service(fn),
        role="roles/run.invoker",
        member=account.member,
        opts=opts,
    )
    token_creator = gcp.serviceaccount.IAMMember(
        names[2],
        service_account_id=account.name,
        role="roles/iam.serviceAccountTokenCreator",
        member=signer,
        opts=opts,
    )
    return DeliveryIdentity(account, invoker, token_creator)
