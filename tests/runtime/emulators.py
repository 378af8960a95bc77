"""What every emulator fixture shares: a free loopback port, and the skip-or-fail rule."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
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


def emulator_venv(venv: Path, requirements: tuple[str, ...], module: str) -> Path:
    """The Python of ``venv``, a virtualenv of its own for an emulator whose pins clash with ours,
    installing ``requirements`` there (one resolver run, so they cannot move each other's pins)
    unless ``module`` already imports."""
    python = venv / "bin" / "python"
    if python.exists() and imports(python, module):
        return python
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=120)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *requirements],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", "") or ""
        emulator_missing(f"could not install {' '.join(requirements)} into {venv}: {exc} {detail[-2000:]}")
    if not imports(python, module):
        emulator_missing(f"{' '.join(requirements)} installed, but {module} is not importable from {python}")
    return python


def imports(python: Path, module: str) -> bool:
    """Whether ``import <module>`` (one name or several, comma-separated) works in ``python``."""
    result = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True, timeout=60, check=False)
    return result.returncode == 0
