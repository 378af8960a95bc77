"""What a GCP publisher adds to an event so Eventarc Advanced enrollments can filter on data.

An enrollment's CEL sees an event's context attributes but not its payload (``message.data``
is reserved), so the publisher copies every data field that some subscription's pattern matches
on into CloudEvents extension attributes. The compiler in :mod:`providers.gcp.patterns` writes
CEL over exactly these attributes; both sides use this one module.

The projection of one field (``path`` inside ``data``; ``A`` = :func:`field_attribute`):

* looked up like the portable matcher does (through nested objects only); missing -> nothing;
* its *candidates* are the list's items if it is a list (at most :data:`MAX_LIST_ITEMS`, more is
  an error at publish time), else the value itself;
* ``A + "n"`` = the number of candidates; for candidate ``i``, ``A + "t" + i`` = its type
  (``s`` string, ``n`` number, ``b`` boolean, ``z`` null, ``o`` anything else) and, for
  ``s``/``n``/``b``, ``A + "v" + i`` = the string, ``repr(float(number))`` or ``true``/``false``.

Every EventBus of a GCP stack shares one message bus; :data:`BUS_ATTRIBUTE` carries the
EventBus's logical name. Standard library only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

BUS_ATTRIBUTE = "omnicloudbus"
"""The extension attribute naming the EventBus (logical name) an event was published to."""
MAX_LIST_ITEMS = 8
"""A matched data field holding a list is projected item by item, up to this many items."""
ATTRIBUTE_PREFIX = "od"
HASH_DIGITS = 10


class ProjectionError(ValueError):
    """An event cannot be projected (a matched list is longer than :data:`MAX_LIST_ITEMS`)."""


def field_attribute(path: Sequence[str]) -> str:
    """The attribute base name of data field ``path`` (12 characters, ``[a-z0-9]``)."""
    digest = hashlib.sha256("\x1f".join(path).encode()).hexdigest()
    return ATTRIBUTE_PREFIX + digest[:HASH_DIGITS]


def project(data: Any, fields: Iterable[tuple[Sequence[str], str]], max_items: int = MAX_LIST_ITEMS) -> dict[str, str]:
    """The extension attributes for ``data``; ``fields`` are ``(path, attribute)`` pairs."""
    attributes: dict[str, str] = {}
    for path, attribute in fields:
        found, value = _lookup(data, path)
        if not found:
            continue
        candidates = value if isinstance(value, list) else [value]
        if len(candidates) > max_items:
            raise ProjectionError(
                f"data.{'.'.join(path)} holds {len(candidates)} items; a field that an "
                f"EventBus pattern matches on holds at most {max_items} on GCP"
            )
        attributes[attribute + "n"] = str(len(candidates))
        for index, candidate in enumerate(candidates):
            kind, text = _encode(candidate)
            attributes[f"{attribute}t{index}"] = kind
            if text is not None:
                attributes[f"{attribute}v{index}"] = text
    return attributes


def _lookup(data: Any, path: Sequence[str]) -> tuple[bool, Any]:
    value = data
    for name in path:
        if not isinstance(value, Mapping) or name not in value:
            return False, None
        value = value[name]
    return True, value


def _encode(candidate: Any) -> tuple[str, str | None]:
    if candidate is None:
        return "z", None
    if isinstance(candidate, bool):
        return "b", "true" if candidate else "false"
    if isinstance(candidate, int | float):
        return "n", repr(float(candidate))
    if isinstance(candidate, str):
        return "s", candidate
    return "o", None
