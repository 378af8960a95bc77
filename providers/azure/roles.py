"""Built-in Azure role definitions omnicloud assigns, by name, with their fixed GUIDs.

Built-in role GUIDs are the same in every tenant and subscription
(learn.microsoft.com/azure/role-based-access-control/built-in-roles), so the full role
definition ID is built from the subscription of the scope, without an invoke: a lookup would
make every ``pulumi preview`` call Azure and every mocked test provide a fake result.
"""

from __future__ import annotations

import pulumi

BUILT_IN_ROLES: dict[str, str] = {
    # Read, write, delete blobs and containers, and set POSIX ACLs. The Functions host needs
    # it on AzureWebJobsStorage for identity-based host storage (keys, timer locks, package).
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
}


def role_definition_id(role: str, scope_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """``/subscriptions/<sub>/providers/Microsoft.Authorization/roleDefinitions/<guid>``.

    ``scope_id`` is any resource ID inside the subscription (``/subscriptions/<sub>/...``).
    """
    guid = BUILT_IN_ROLES[role]
    return pulumi.Output.from_input(scope_id).apply(
        lambda resource_id: (
            f"/subscriptions/{subscription_of(resource_id)}"
            f"/providers/Microsoft.Authorization/roleDefinitions/{guid}"
        )
    )


def subscription_of(resource_id: str) -> str:
    """The subscription ID in an Azure resource ID."""
    parts = resource_id.strip("/").split("/")
    if len(parts) < 2 or parts[0].lower() != "subscriptions":
        raise ValueError(f"not an Azure resource ID inside a subscription: {resource_id!r}")
    return parts[1]
