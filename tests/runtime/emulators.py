"""What every emulator fixture shares: a free loopback port, and the skip-or-fail rule."""

from __future__ import annotations

import os
import socket
from typing import NoReturn

import pytest


def emulator_missing(reason: str) -> NoReturn:
    """Skip the test locally; fail it under CI, where every emulator must run."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must provide it)", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """A port nothing listens on, on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
