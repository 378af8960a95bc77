"""The example app's change handler: an audit trail of every change to an order."""

from __future__ import annotations

import logging

from components import runtime
from components.runtime import Context, TableChange

log = logging.getLogger(__name__)


def handle(change: TableChange, ctx: Context) -> None:
    """Record the status transition of an order as an ``audit#<id>`` item of the same table.

    Only the order items themselves (``order#<id>`` / ``order``) are audited, so the audit items
    this writes (changes themselves) end the chain instead of feeding it.
    """
    if not str(change.key.get("pk", "")).startswith("order#") or change.key.get("sk") != "order":
        return
    before = (change.old or {}).get("status")
    after = (change.new or {}).get("status")
    order_id = str(change.key["pk"]).removeprefix("order#")
    log.info("order %s %s: %s -> %s", order_id, change.kind, before, after)
    # Time first, so the trail reads in order; the change id makes a redelivered change
    # overwrite its own entry instead of adding a second one.
    at = change.time.isoformat() if change.time else ""
    runtime.table("orders").put(
        {"pk": f"audit#{order_id}", "sk": f"{at}#{change.id}", "kind": change.kind, "before": before, "after": after}
    )
