"""Helpers shared by the GCP provider tests (queue, bus, table, grants)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from components import testing

PROJECT = "omnicloud-test"
PROJECT_NUMBER = "123456789012"
SERVICE_IDENTITY = "gcp:projects/serviceIdentity:ServiceIdentity"


def agent_email(service: str) -> str:
    """The e-mail Google gives a service's agent (``pubsub`` -> ``service-<n>@gcp-sa-pubsub...``)."""
    return f"service-{PROJECT_NUMBER}@gcp-sa-{service}.iam.gserviceaccount.com"


@pytest.fixture
def service_agents(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make the mocks report ServiceIdentity's ``email``/``member`` as the real provider does.

    ``components.testing`` computes outputs for the types it knows; a service agent's address
    contains the project number, which only the real provider reports.
    """
    original = testing._gcp_outputs

    def outputs(type_: str, name: str, inputs: Mapping[str, Any], project: str, region: str) -> dict[str, Any]:
        out = original(type_, name, inputs, project, region)
        if type_ == SERVICE_IDENTITY:
            email = agent_email(str(inputs["service"]).split(".", 1)[0])
            out.update(email=email, member=f"serviceAccount:{email}")
        return out

    monkeypatch.setattr(testing, "_gcp_outputs", outputs)
    yield


def short_hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:6]


def env_of(function_record: Any) -> dict[str, str]:
    return function_record.inputs["serviceConfig"]["environmentVariables"]


def triggers_env(function_record: Any) -> list[dict[str, Any]]:
    return json.loads(env_of(function_record)["OMNICLOUD_TRIGGERS"])
