"""Computed outputs of Azure resources that :mod:`components.testing` does not mock (yet).

``components.testing`` computes ids, names and a WebApp's identity; the messaging and data
resources also report their endpoints and the principal of a system-assigned identity. This
fixture adds those, shaped like the real values, and only where the harness left them out,
so it becomes a no-op once the harness computes them itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from components import testing


def extra_outputs(type_: str, name: str, inputs: Mapping[str, Any], physical: str, location: str) -> dict[str, Any]:
    """What Azure computes for the resource types the Queue, EventBus and Table providers use."""
    kind = type_.rsplit(":", 1)[-1]
    out: dict[str, Any] = {}
    if kind == "Namespace" and type_.startswith("azure-native:servicebus"):
        out["serviceBusEndpoint"] = f"https://{physical}.servicebus.windows.net:443/"
    elif kind == "DatabaseAccount":
        out["documentEndpoint"] = f"https://{physical}.documents.azure.com:443/"
    elif kind == "Topic" and type_.startswith("azure-native:eventgrid"):
        out["endpoint"] = f"https://{physical}.{location}-1.eventgrid.azure.net/api/events"
    if inputs.get("identity"):
        principal = {"principalId": _uuid(name, "principal"), "tenantId": _uuid("tenant")}
        out["identity"] = {**dict(inputs["identity"]), **principal}
    return out


def _uuid(*parts: str) -> str:
    h = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


@pytest.fixture
def azure_outputs(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Use in a test module with ``pytestmark = pytest.mark.usefixtures("azure_outputs")``."""
    original = testing._azure_outputs

    def patched(type_: str, name: str, inputs: Mapping[str, Any], location: str) -> dict[str, Any]:
        out = original(type_, name, inputs, location)
        for key, value in extra_outputs(type_, name, inputs, out["name"], location).items():
            out.setdefault(key, value)
        return out

    monkeypatch.setattr(testing, "_azure_outputs", patched)
    yield
