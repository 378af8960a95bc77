"""Translation helpers shared by the entry adapters (standard library only)."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from components.runtime import env
from components.runtime.events import BINARY_CONTENT_TYPE, HttpResponse
from components.runtime.messages import Event

SCHEDULED_KIND = "scheduled"

# Content types whose bodies are text even though they are not text/*.
_TEXT_TYPES = (
    "application/json",
    "application/xml",
    "application/javascript",
    "application/x-www-form-urlencoded",
    "application/graphql",
)


def function_name(fallback: str | None) -> str:
    """The logical function name: ``OMNICLOUD_FUNCTION``, else the platform's, else ``""``."""
    return os.environ.get(env.FUNCTION) or fallback or ""


def first_values(query_string: str) -> dict[str, str]:
    """Query parameters from a raw query string, keeping the first value of each key."""
    out: dict[str, str] = {}
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        out.setdefault(key, value)
    return out


def split_cookie_header(header: str | None) -> tuple[str, ...]:
    """``"a=1; b=2"`` → ``("a=1", "b=2")``, the shape Lambda gives in ``cookies``."""
    if not header:
        return ()
    return tuple(part.strip() for part in header.split(";") if part.strip())


def first_forwarded_for(header: str | None) -> str | None:
    """The client address from ``X-Forwarded-For`` (its first, left-most entry)."""
    if not header:
        return None
    return header.split(",", 1)[0].strip() or None


def lower_headers(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Lower-cased header names; repeated headers comma-joined (RFC 9110 §5.3)."""
    out: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def parse_time(value: str, *, what: str) -> datetime:
    """An ISO-8601 / RFC 3339 timestamp as an aware UTC datetime (naive means UTC)."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: {value!r} is not an ISO-8601 timestamp") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def now_utc() -> datetime:
    """Now, in UTC, truncated to whole seconds (what a schedule means by "the time")."""
    return datetime.now(UTC).replace(microsecond=0)


def scheduled_input(payload: object) -> Mapping[str, Any] | None:
    """The ``{"omnicloud": {"kind": "scheduled", ...}}`` envelope's inner dict, or None."""
    if not isinstance(payload, Mapping):
        return None
    inner = payload.get("omnicloud")
    if isinstance(inner, Mapping) and inner.get("kind") == SCHEDULED_KIND:
        return inner
    return None


def schedule_expression(inner: Mapping[str, Any]) -> str:
    """The portable expression from the envelope, else from ``OMNICLOUD_SCHEDULE``."""
    value = inner.get("schedule")
    return value if isinstance(value, str) and value else os.environ.get(env.SCHEDULE, "")


def is_text(content_type: str | None) -> bool:
    """Whether a body of this content type is text (so it need not be base64-encoded)."""
    if not content_type:
        return False
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime.startswith("text/") or mime in _TEXT_TYPES or mime.endswith("+json") or mime.endswith("+xml")


def response_headers(response: HttpResponse) -> dict[str, str]:
    """The headers to send: the handler's, plus ``application/octet-stream`` when it sent a
    body without a content type.

    Each platform has its own default otherwise (Lambda ``application/json``, Azure
    ``text/plain``, flask ``text/html``); one explicit, non-rendering default keeps the
    clouds identical and stops browsers treating reflected input as HTML.
    """
    headers = dict(response.headers)
    if response.body and response.header("content-type") is None:
        headers["content-type"] = BINARY_CONTENT_TYPE
    return headers


def structured_event(document: Mapping[str, Any]) -> Event:
    """A CloudEvent in structured JSON form (``data`` or ``data_base64``) as an :class:`Event`."""
    if "specversion" not in document:
        raise ValueError("not a CloudEvent: no specversion")
    attributes = {k: v for k, v in document.items() if k not in ("data", "data_base64")}
    if "data_base64" in document:
        try:
            data: Any = base64.b64decode(document["data_base64"], validate=True)
        except (binascii.Error, TypeError):
            raise ValueError("CloudEvent data_base64 is not base64") from None
    else:
        data = document.get("data")
    return cloudevent(attributes, data, attributes.get("datacontenttype"))


def cloudevent(attributes: Mapping[str, Any], data: Any, content_type: str | None) -> Event:
    """An :class:`Event` from CloudEvent attributes and decoded data (id, source, type required)."""
    missing = [name for name in ("id", "source", "type") if not attributes.get(name)]
    if missing:
        raise ValueError(f"CloudEvent without {', '.join(missing)}")
    raw_time = attributes.get("time")
    return Event(
        id=str(attributes["id"]),
        source=str(attributes["source"]),
        type=str(attributes["type"]),
        subject=attributes.get("subject") or None,
        time=parse_time(str(raw_time), what="CloudEvent time") if raw_time else None,
        data=data,
        specversion=str(attributes.get("specversion") or "1.0"),
        datacontenttype=content_type or "application/json",
    )
