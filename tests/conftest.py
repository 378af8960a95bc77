"""Shared fixtures: the example project's root, used as the handlers' home in mock stacks."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def project_root() -> Path:
    """The repository root: holds Pulumi.yaml and the example handlers in functions/."""
    return REPO_ROOT


# The ministack session fixtures (`ministack`, `cloud`), registered once for every test module
# that deploys to it, so one emulator serves the whole session.
pytest_plugins = ["tests.runtime.ministack"]
