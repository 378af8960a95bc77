"""The example app's HTTP API: takes orders, stores them, queues work, announces them."""

from __future__ import annotations

import time
import uuid

from components import runtime
from components.runtime import Context, HttpRequest, HttpResponse


def handle(event: HttpRequest, ctx: Context) -> HttpResponse | dict:
    """``POST /orders`` creates an order; ``GET /orders/<id>`` reads it; ``GET /orders/<id>/audit``
    lists its audit trail; ``POST /checkout/<id>`` starts its checkout workflow; ``GET /health``."""
    path = event.path.rstrip("/")
    if path == "/health":
        return {"ok": True, "function": ctx.function, "cloud": ctx.cloud}
    if event.method == "POST" and path == "/orders":
        return create_order(event.json())
    if event.method == "GET" and path.startswith("/orders/") and path.endswith("/audit"):
        order_id = path.removeprefix("/orders/").removesuffix("/audit")
        return {"audit": runtime.table("orders").query(f"audit#{order_id}").items}
    if event.method == "GET" and path.startswith("/orders/"):
        order = runtime.table("orders").get({"pk": f"order#{path.removeprefix('/orders/')}", "sk": "order"})
        return order if order else HttpResponse.json({"error": "not found"}, status=404)
    if event.method == "POST" and path.startswith("/checkout/"):
        return start_checkout(path.removeprefix("/checkout/"))
    return HttpResponse.json({"error": "no such route"}, status=404)


def create_order(body: dict) -> HttpResponse:
    """Store the order, queue its fulfilment job and publish ``order.created``."""
    order_id = uuid.uuid4().hex[:12]
    order = {
        "pk": f"order#{order_id}",
        "sk": "order",
        "id": order_id,
        "items": body.get("items", []),
        "total": body.get("total", 0),
        "status": "received",
        # Orders expire from the table after 30 days (the table's TTL attribute).
        "expires": int(time.time()) + 30 * 86400,
    }
    runtime.table("orders").put(order, condition="absent")
    runtime.queue("jobs").send({"order_id": order_id, "action": "fulfil"})
    runtime.bus("events").publish(
        "order.created", {"order_id": order_id, "total": order["total"]}, source="shop/api", subject=f"order/{order_id}"
    )
    return HttpResponse.json({"id": order_id, "status": "received"}, status=201)


def start_checkout(order_id: str) -> HttpResponse:
    """Start the ``checkout`` workflow for a stored order; 202 with the execution's id."""
    order = runtime.table("orders").get({"pk": f"order#{order_id}", "sk": "order"})
    if order is None:
        return HttpResponse.json({"error": "not found"}, status=404)
    execution = runtime.workflow("checkout").start({"order": {"id": order_id, "lines": order["items"]}})
    return HttpResponse.json({"id": order_id, "execution": execution}, status=202)
