"""What runs inside a deployed function: the handler contract.

A handler is a plain function ``def handle(event, ctx)``; ``OMNICLOUD_HANDLER`` names it as
``module.function``. ``ctx`` is a :class:`Context`. What ``event`` is decides what the
handler returns:

* :class:`HttpRequest` → return an :class:`HttpResponse`, or a ``dict``/``list`` (JSON, 200),
  ``str`` (``text/plain``, 200), ``bytes`` (``application/octet-stream``, 200) or ``None``
  (204). An exception becomes ``500 {"error": "internal"}``; the traceback goes to the
  function's log, never to the client.
* :class:`Scheduled` → the return value is ignored; an exception marks the run as failed so
  the platform records it and retries where it is configured to.

The per-cloud entry adapters in :mod:`components.runtime.adapters` translate native
invocations into these types. Importing this package loads only the standard library:
no pulumi, no pydantic, no cloud SDK, so it adds next to nothing to a cold start.
"""

from __future__ import annotations

from components.runtime.events import Context, HttpRequest, HttpResponse, Scheduled

__all__ = ["Context", "HttpRequest", "HttpResponse", "Scheduled"]
