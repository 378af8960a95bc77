"""What every local component shares: its identifiers and the key schema of tables."""

from __future__ import annotations

import pulumi


def local_id(kind: str, name: str) -> str:
    """``local:<kind>:<project>/<stack>/<name>``: unique per stack, stable across runs."""
    return f"local:{kind}:{pulumi.get_project()}/{pulumi.get_stack()}/{name}"
