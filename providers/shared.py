"""Helpers every target uses the same way: per-stack singletons, overrides, environment."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pulumi

from components.errors import InvalidArgsError
from components.function_args import FunctionArgs

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
    env.update(args.environment)
    return env


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


def tags_for(name: str, args: FunctionArgs) -> dict[str, str]:
    """Tags on every resource of a function: the user's, plus where it came from."""
    return {
        "omnicloud-component": name,
        "omnicloud-project": pulumi.get_project(),
        "omnicloud-stack": pulumi.get_stack(),
        **args.tags,
    }
