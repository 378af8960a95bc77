"""The example app's nightly job."""

from __future__ import annotations

import logging

from components.runtime import Context, Scheduled

log = logging.getLogger(__name__)


def handle(event: Scheduled, ctx: Context) -> None:
    """Runs on the schedule in ``__main__.py``; logs when it fired."""
    log.info("nightly job %s fired at %s on %s", ctx.function, event.time.isoformat(), ctx.cloud)
