"""The example app's change handler: an audit trail of every change to ``orders``."""

from __future__ import annotations

import logging

from components.runtime import Context, TableChange

log = logging.getLogger(__name__)


def handle(change: TableChange, ctx: Context) -> None:
    """Log what changed; the status transition is the interesting part."""
    before = (change.old or {}).get("status")
    after = (change.new or {}).get("status")
    log.info("orders %s %s: %s -> %s", change.kind, dict(change.key), before, after)
