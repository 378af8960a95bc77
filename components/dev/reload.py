"""Hot reload: notice when a Python file of the project changes.

Polls modification times twice a second (no native watcher: the project tree is small, and
polling behaves the same on every filesystem, including mounted and container ones where
inotify events go missing). Skips virtualenvs, ``node_modules``, build output, caches and
every dot-directory (``.omnicloud`` holds the server's own database).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

__all__ = ["Reloader", "snapshot"]

POLL_INTERVAL_S = 0.5
_SKIP = {"node_modules", "build", "dist", "__pycache__", "venv"}


def snapshot(root: Path) -> dict[Path, int]:
    """``{path: mtime_ns}`` of every ``.py`` file under ``root`` that a handler could import."""
    found: dict[Path, int] = {}
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIP and not d.endswith(".egg-info")]
        for name in files:
            if name.endswith(".py"):
                path = Path(directory, name)
                try:
                    found[path] = path.stat().st_mtime_ns
                except FileNotFoundError:
                    continue  # removed between listing and stat
    return found


class Reloader(threading.Thread):
    """Calls ``on_change(paths)`` whenever project files were added, changed or removed."""

    def __init__(self, root: Path, stop: threading.Event, on_change: Callable[[list[Path]], None]) -> None:
        super().__init__(name="reloader", daemon=True)
        self._root, self._stop_event, self._on_change = root, stop, on_change

    def run(self) -> None:
        before = snapshot(self._root)
        while not self._stop_event.wait(POLL_INTERVAL_S):
            now = snapshot(self._root)
            changed = sorted(p for p in before.keys() | now.keys() if before.get(p) != now.get(p))
            before = now
            if changed:
                self._on_change(changed)
