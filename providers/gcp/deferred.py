"""Values decided while the program runs and sent to the engine once its body has returned.

Some GCP settings live on a resource registered *before* the call that decides them:

* a Queue's one Pub/Sub subscription turns into a push subscription when
  ``queue.subscribe(fn)`` runs later in the program;
* the stack's one Firestore database enables point-in-time recovery if *any* Table asks for it;
* an EventBus's locator lists the data fields its subscriptions' patterns match on;
* a Function's archive needs the packages of the triggers wired to it afterwards.

:class:`Deferred` holds such a value. Its :meth:`Deferred.output` resolves on the event loop's
first turn, which the Pulumi engine only takes after the program body has returned (the same
technique as :class:`providers.shared.LateBound`, which does this for lists); changing the
value after that raises instead of being silently lost.
"""

from __future__ import annotations

import asyncio
from typing import Any, Generic, TypeVar

import pulumi

from providers.shared import triggers_of

T = TypeVar("T")


class Deferred(Generic[T]):
    """One value, changeable until the program body has returned; then sent to the engine."""

    def __init__(self, what: str, initial: T) -> None:
        self._what = what
        self._value = initial
        self._frozen = False
        self._output: pulumi.Output[Any] | None = None

    @property
    def value(self) -> T:
        """The value as it stands now."""
        return self._value

    def set(self, value: T) -> None:
        """Replace the value (it may hold Outputs and ``*Args`` objects)."""
        if self._frozen:
            raise RuntimeError(
                f"{self._what} was already sent to the engine; declare subscriptions and tables "
                "before anything waits for outputs (e.g. a synchronous data-source call)"
            )
        self._value = value

    def output(self) -> pulumi.Output[Any]:
        """The final value, nested Inputs unwrapped, resolved after the program body."""
        if self._output is None:

            async def _final() -> Any:
                await asyncio.sleep(0)
                self._frozen = True
                return self._value

            future = asyncio.ensure_future(_final())
            # from_input unwraps Outputs nested in dicts, lists and *Args objects and keeps
            # their resources, so whatever holds this value still depends on them.
            self._output = pulumi.Output.from_input(future).apply(pulumi.Output.from_input)
        return self._output


def trigger_kinds(function: Any) -> Deferred[frozenset[str]]:
    """The kinds of trigger ("queue", "bus", "table") wired to a Function component.

    The Function's archive is built from it, so that only the packages its triggers need
    (google-auth to verify push tokens, google-events to decode Firestore changes) ship.
    """
    existing = getattr(function, "_omnicloud_gcp_trigger_kinds", None)
    if existing is None:
        name = getattr(function, "logical_name", "?")
        existing = Deferred[frozenset[str]](f"the trigger kinds of Function '{name}'", frozenset())
        function._omnicloud_gcp_trigger_kinds = existing
    return existing


def add_trigger(function: Any, descriptor: dict[str, Any]) -> None:
    """Record a trigger on ``function``: its ``OMNICLOUD_TRIGGERS`` entry and its kind."""
    triggers_of(function).add(descriptor)
    kinds = trigger_kinds(function)
    kinds.set(kinds.value | {descriptor["kind"]})
