"""Helpers every target uses the same way: per-stack singletons, overrides, environment."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import pulumi

from components.errors import InvalidArgsError
from components.function_args import FunctionArgs

if TYPE_CHECKING:
    from components.links import Link

T = TypeVar("T")

_STACK_SINGLETONS: dict[tuple[int, str], Any] = {}


def stack_singleton(key: str, factory: Callable[[], T]) -> T:
    """One instance per running stack (e.g. Azure's resource group, GCP's source bucket).

    Keyed on the engine's root resource, so each ``pulumi up`` (and each mocked test stack)
    gets its own.
    """
    from pulumi.runtime.settings import get_root_resource

    root_key = (id(get_root_resource()), key)
    if root_key not in _STACK_SINGLETONS:
        _STACK_SINGLETONS[root_key] = factory()
    return _STACK_SINGLETONS[root_key]


def apply_overrides(
    component: str,
    cloud: str,
    resource_type: type,
    kwargs: dict[str, Any],
    overrides: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """Merge ``overrides[cloud]`` into the main resource's keyword arguments.

    Unknown property names fail before deploy with the list of valid ones, so a typo in the
    escape hatch is caught like any other bad input.
    """
    extra = dict(overrides.get(cloud, {}))
    if not extra:
        return kwargs
    valid = _resource_arg_names(resource_type)
    for key in extra:
        if key not in valid:
            raise InvalidArgsError(
                component,
                f"overrides.{cloud}.{key}",
                extra[key],
                f"not a property of {resource_type.__module__}.{resource_type.__name__}; "
                f"valid: {', '.join(sorted(valid))}",
                cloud=cloud,
            )
    return {**kwargs, **extra}


def _resource_arg_names(resource_type: type) -> set[str]:
    args_type = getattr(inspect.getmodule(resource_type), f"{resource_type.__name__}Args", None)
    names: set[str] = set()
    if args_type is not None:
        # The SDK's *Args.__init__ names its first parameter __self__.
        names |= {n for n in inspect.signature(args_type.__init__).parameters if not n.startswith("_")}
    return names - {"self", "opts", "resource_name"}


def runtime_environment(cloud: str, name: str, args: FunctionArgs) -> dict[str, pulumi.Input[str]]:
    """Plain environment of a function: what the runtime needs, then the user's variables."""
    env: dict[str, pulumi.Input[str]] = {
        "OMNICLOUD_HANDLER": args.handler,
        "OMNICLOUD_FUNCTION": name,
        "OMNICLOUD_CLOUD": cloud,
    }
    if args.schedule:
        env["OMNICLOUD_SCHEDULE"] = args.schedule
    if args.http:
        env["OMNICLOUD_HTTP"] = args.http
    env.update(link_environment(args.links))
    env.update(args.environment)
    return env


def link_environment(links: list[Link]) -> dict[str, pulumi.Input[str]]:
    """One variable per link, holding the target's locator as JSON (see :mod:`components.links`)."""
    return {link.env_name: link.target.locator.apply(lambda value: json.dumps(value, sort_keys=True)) for link in links}


def cross_cloud_links(component: str, cloud: str, links: list[Link]) -> None:
    """Reject a link to a component on another cloud (its identity model cannot grant it)."""
    for link in links:
        if link.target.cloud != cloud:
            raise InvalidArgsError(
                component,
                "links",
                f"{link.kind} '{link.target.logical_name}'",
                f"it is on {link.target.cloud}; links must stay on {cloud}",
                cloud=cloud,
            )


class LateBound:
    """A list collected while the program runs and sent to the engine once it has finished.

    Some native settings must name things declared *after* the resource that holds them (a
    function's trigger list is part of its configuration, but ``queue.subscribe(fn)`` comes
    after ``Function(...)``). :meth:`output` resolves on the event loop's first turn, which
    the Pulumi engine only takes once the program body has returned; adding later is a bug in
    the program's order and raises instead of being silently dropped. Items may hold Outputs.
    """

    def __init__(self, what: str) -> None:
        self._what = what
        self._items: list[Any] = []
        self._frozen = False

    def add(self, item: Any) -> None:
        """Append an item (a JSON-able dict whose values may be Outputs)."""
        if self._frozen:
            raise RuntimeError(
                f"{self._what} was already sent to the engine; declare subscriptions before "
                "anything waits for outputs (e.g. a synchronous data-source call)"
            )
        self._items.append(item)

    def output(self) -> pulumi.Output[str]:
        """The items as a JSON array (sorted keys), resolved after the program body."""
        import asyncio

        async def _collect() -> list[Any]:
            await asyncio.sleep(0)
            self._frozen = True
            return list(self._items)

        collected = pulumi.Output.from_input(asyncio.ensure_future(_collect()))
        return collected.apply(lambda items: pulumi.Output.from_input(items)).apply(
            lambda items: json.dumps(items, sort_keys=True)
        )


TRIGGERS_ENV = "OMNICLOUD_TRIGGERS"


def task_callers_of(function: Any) -> LateBound:
    """The identities that call a Function as a workflow task (where its adapter checks them).

    GCP's Workflow provider adds its service account's e-mail for every public function a task
    calls: Cloud Run IAM guards private functions, a public one verifies the caller's token.
    """
    existing = getattr(function, "_omnicloud_task_callers", None)
    if existing is None:
        existing = LateBound(f"the task callers of Function '{getattr(function, 'logical_name', '?')}'")
        function._omnicloud_task_callers = existing
    return existing


def triggers_of(function: Any) -> LateBound:
    """The trigger list of a Function component (its providers put it in ``OMNICLOUD_TRIGGERS``).

    Queue, EventBus and Table providers add a descriptor when they wire a trigger; the
    function's entry adapter reads the list to map native sources to logical names.
    """
    existing = getattr(function, "_omnicloud_triggers", None)
    if existing is None:
        existing = LateBound(f"the trigger list of Function '{getattr(function, 'logical_name', '?')}'")
        function._omnicloud_triggers = existing
    return existing


def secret_environment(args: FunctionArgs) -> dict[str, pulumi.Output[str]]:
    """The user's secrets, each wrapped so it stays a secret in state and in previews."""
    return {key: pulumi.Output.secret(value) for key, value in args.secrets.items()}


def merged_environment(cloud: str, name: str, args: FunctionArgs) -> pulumi.Output[dict[str, str]]:
    """Plain and secret variables in one map; the whole map is secret if any value is."""
    combined: dict[str, pulumi.Input[str]] = {
        **runtime_environment(cloud, name, args),
        **secret_environment(args),
    }
    return pulumi.Output.all(**combined).apply(lambda values: dict(values))


def tags_for(name: str, args: Any) -> dict[str, str]:
    """Tags on every resource of a component: where it came from, plus the user's ``tags``."""
    return {
        "omnicloud-component": name,
        "omnicloud-project": pulumi.get_project(),
        "omnicloud-stack": pulumi.get_stack(),
        **getattr(args, "tags", {}),
    }
