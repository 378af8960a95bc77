"""The example app's HTTP API."""

from __future__ import annotations

from components.runtime import Context, HttpRequest, HttpResponse


def handle(event: HttpRequest, ctx: Context) -> HttpResponse | dict:
    """``GET /health`` answers where it runs; anything else echoes the request."""
    if event.path.rstrip("/") == "/health":
        return {"ok": True, "function": ctx.function, "cloud": ctx.cloud}
    if event.method == "POST":
        return HttpResponse.json({"received": event.json()}, status=201)
    return {"method": event.method, "path": event.path, "query": dict(event.query)}
