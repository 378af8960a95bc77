"""What every local component shares: its identifiers and the key schema of tables."""

from __future__ import annotations

from typing import Any

import pulumi


def local_id(kind: str, name: str) -> str:
    """``local:<kind>:<project>/<stack>/<name>``: unique per stack, stable across runs."""
    return f"local:{kind}:{pulumi.get_project()}/{pulumi.get_stack()}/{name}"


def key_schema(args: Any) -> dict[str, Any]:
    """The key schema every table locator carries (the runtime clients need it)."""
    return {
        "partition_key": args.partition_key,
        "sort_key": args.sort_key,
        "key_types": {attribute: args.key_type(attribute) for attribute in sorted(args.key_attributes())},
        "indexes": [
            {"name": index.name, "partition_key": index.partition_key, "sort_key": index.sort_key}
            for index in args.indexes
        ],
        "ttl_attribute": args.ttl_attribute,
    }
