"""The portable event types handlers receive, and the HTTP response they may return.

Every type is a frozen dataclass built from the standard library only, so a handler's unit
test can construct them directly, with no cloud and no adapter::

    from components.runtime import Context, HttpRequest

    resp = handle(HttpRequest("GET", "/health"), Context("api", "local", "test-1"))
"""

from __future__ import annotations

import json as _json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

__all__ = ["Context", "HttpRequest", "HttpResponse", "Scheduled"]

JSON_CONTENT_TYPE = "application/json"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
BINARY_CONTENT_TYPE = "application/octet-stream"


def _frozen_map(value: Mapping[str, str], *, lower: bool = False) -> Mapping[str, str]:
    # A read-only copy: the dataclass is frozen, so its mappings should not be mutable either.
    items = value.items()
    return MappingProxyType({k.lower(): v for k, v in items} if lower else dict(items))


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """An HTTP request, the same on every cloud.

    Attributes:
        method: Upper-case HTTP method, e.g. ``"GET"``.
        path: The request path, percent-decoded, starting with ``/`` (e.g. ``"/orders/42"``).
        query: Query parameters; for a repeated key only its first value is kept (use
            :attr:`query_string` to see all of them).
        headers: Request headers with lower-cased names; repeated headers are comma-joined.
        body: The raw body (already base64-decoded where the cloud encodes it).
        query_string: The raw query string without the leading ``?``.
        source_ip: The client's IP address as the platform reports it, if known.
        cookies: The request's cookies as ``"name=value"`` strings, in order.
    """

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    query_string: str = ""
    source_ip: str | None = None
    cookies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Normalise here, not only in the adapters, so hand-built requests in tests behave
        # exactly like real ones (header lookup by lower-case name, immutable mappings).
        object.__setattr__(self, "method", self.method.upper())
        object.__setattr__(self, "query", _frozen_map(self.query))
        object.__setattr__(self, "headers", _frozen_map(self.headers, lower=True))
        object.__setattr__(self, "body", bytes(self.body))
        object.__setattr__(self, "cookies", tuple(self.cookies))

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes become U+FFFD)."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON.

        Raises:
            ValueError: the body is empty or not valid JSON (``json.JSONDecodeError``).
        """
        return _json.loads(self.body)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """What an HTTP handler returns (a dict, list, str, bytes or None is converted to one).

    Attributes:
        status: The HTTP status code.
        body: The response body; a ``str`` is sent UTF-8 encoded.
        headers: Response headers.
        cookies: ``Set-Cookie`` header values, one per cookie. They are kept apart from
            :attr:`headers` because a mapping cannot hold the repeated ``Set-Cookie`` header.
    """

    status: int = 200
    body: bytes | str = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 100 <= self.status <= 599:
            raise ValueError(f"HTTP status must be 100-599, got {self.status}")
        object.__setattr__(self, "headers", _frozen_map(self.headers))
        object.__setattr__(self, "cookies", tuple(self.cookies))

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> HttpResponse:
        """A JSON response (``Content-Type: application/json``)."""
        body = _json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return cls(status, body, {"content-type": JSON_CONTENT_TYPE, **(headers or {})})

    @classmethod
    def text(cls, s: str, status: int = 200, headers: Mapping[str, str] | None = None) -> HttpResponse:
        """A plain-text response (``Content-Type: text/plain; charset=utf-8``)."""
        return cls(status, s, {"content-type": TEXT_CONTENT_TYPE, **(headers or {})})

    @property
    def content(self) -> bytes:
        """The body as bytes (a ``str`` body UTF-8 encoded)."""
        return self.body.encode("utf-8") if isinstance(self.body, str) else bytes(self.body)

    def header(self, name: str) -> str | None:
        """A header's value by case-insensitive name, or None."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)


@dataclass(frozen=True, slots=True)
class Scheduled:
    """A scheduled invocation.

    Attributes:
        schedule: The portable expression that fired, e.g. ``"rate(5 minutes)"`` or
            ``"cron(0 2 * * *)"``.
        time: When the invocation was scheduled (or, where the cloud does not say, when it
            started), timezone-aware in UTC.
        function: The logical name of the function.
    """

    schedule: str
    time: datetime
    function: str

    def __post_init__(self) -> None:
        if self.time.tzinfo is None or self.time.utcoffset() is None:
            raise ValueError(f"Scheduled.time must be timezone-aware, got {self.time!r}")
        object.__setattr__(self, "time", self.time.astimezone(UTC))


@dataclass(frozen=True, slots=True)
class Context:
    """Facts about the current invocation.

    Attributes:
        function: The logical name of the function (``Function("api", ...)`` → ``"api"``).
        cloud: ``"aws"``, ``"azure"``, ``"gcp"`` or ``"local"``.
        invocation_id: The platform's id for this invocation (for log correlation).
        native: The cloud's own context object (Lambda context, Azure ``Context``, flask
            request), for the rare case a handler needs to step outside the abstraction.
    """

    function: str
    cloud: str
    invocation_id: str
    native: Any = field(default=None, repr=False, compare=False)
