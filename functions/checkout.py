"""The steps of the example app's ``checkout`` workflow: each is a plain handler that takes the
task's JSON input and returns JSON. Raising fails the step: the error name is the exception's
class name, or :class:`TaskFailed`'s ``error``, and the workflow's Retry/Catch see exactly that.
"""

from __future__ import annotations

from typing import Any

from components import runtime
from components.runtime import TaskFailed

PRICES = {"tea": 4.5, "mug": 12.0, "kettle": 39.0}
STOCK_LIMIT = 100
CARD_LIMIT = 1000.0


def price_line(event: dict[str, Any], ctx: runtime.Context) -> dict[str, Any]:
    """One order line priced: ``{"sku", "qty"}`` → ``{"sku", "qty", "total"}``."""
    sku, qty = event["sku"], int(event["qty"])
    if sku not in PRICES:
        raise TaskFailed("UnknownSku", f"no price for {sku!r}")
    return {"sku": sku, "qty": qty, "total": round(PRICES[sku] * qty, 2)}


def reserve(event: dict[str, Any], ctx: runtime.Context) -> dict[str, Any]:
    """Reserve stock for every line; ``OutOfStock`` when a line asks for more than we hold."""
    order = event["order"]
    short = [line["sku"] for line in order["lines"] if int(line["qty"]) > STOCK_LIMIT]
    if short:
        raise TaskFailed("OutOfStock", f"not enough {', '.join(short)}")
    return {"ok": True, "order_id": order["id"]}


def charge(event: dict[str, Any], ctx: runtime.Context) -> dict[str, Any]:
    """Charge the priced total and mark the order paid; ``PaymentDeclined`` over the card limit."""
    total = round(sum(line["line"]["total"] for line in event["priced"]), 2)
    if total > CARD_LIMIT:
        raise TaskFailed("PaymentDeclined", f"{total} is over the card limit")
    order_id = event["order"]["id"]
    orders = runtime.table("orders")
    order = orders.get({"pk": f"order#{order_id}", "sk": "order"}) or {"pk": f"order#{order_id}", "sk": "order"}
    orders.put({**order, "id": order_id, "status": "paid", "total": total})
    return {"charged": total}


def notify(event: dict[str, Any], ctx: runtime.Context) -> dict[str, Any]:
    """Announce the checkout (``order.checked-out``) for whoever listens on the bus."""
    runtime.bus("events").publish(
        "order.checked-out",
        {"order_id": event["order"]["id"]},
        source="shop/checkout",
        subject=f"order/{event['order']['id']}",
    )
    return {"notified": True}
