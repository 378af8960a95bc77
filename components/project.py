"""Where the user's project lives, and which stack/project the engine is running."""

from __future__ import annotations

import os
from pathlib import Path

_ROOT_ENV = "OMNICLOUD_PROJECT_ROOT"


def project_root() -> Path:
    """The directory holding ``Pulumi.yaml`` (handlers are resolved relative to it).

    ``OMNICLOUD_PROJECT_ROOT`` wins (the test harness and the CLI set it); otherwise the
    nearest ``Pulumi.yaml`` from the working directory upward, as the Pulumi CLI runs the
    program from the project directory.
    """
    if env := os.environ.get(_ROOT_ENV):
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / "Pulumi.yaml").exists():
            return candidate
    return here


def build_dir(root: Path | None = None) -> Path:
    """Where function archives are written (ignored by git)."""
    return (root or project_root()) / ".omnicloud" / "build"
