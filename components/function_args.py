"""``FunctionArgs``: everything a user can say about a Function, checked without any cloud."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from components._args import ComponentArgs, is_output_like
from components.cloud import CLOUDS
from components.schedule import ScheduleError, parse_schedule

Runtime = Literal["python3.11", "python3.12", "python3.13"]
Architecture = Literal["arm64", "x86_64"]
HttpAccess = Literal["public", "private"]

_HANDLER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Names the runtime and adapters set themselves; a user value would silently break them.
RESERVED_ENV_PREFIXES = ("OMNICLOUD_", "AWS_", "FUNCTIONS_", "AzureWebJobs", "WEBSITE_", "K_")


class FunctionArgs(ComponentArgs):
    """Arguments of :class:`components.Function`.

    Defaults scale to zero and bill per use on every cloud. Per-cloud limits (memory steps,
    timeouts, instance counts, name rules) are checked by the selected provider when the
    component is constructed, before anything is registered.
    """

    handler: str = Field(description="'module.function' under the project root, e.g. 'functions.api.handle'.")
    runtime: Runtime = "python3.12"
    memory_mb: int = Field(default=512, description="Memory per instance in MB (cloud steps apply).")
    timeout_s: int = Field(default=30, ge=1, description="Maximum run time of one invocation, seconds.")
    environment: dict[str, Any] = Field(
        default_factory=dict, description="Plain environment variables (str or Output[str])."
    )
    secrets: dict[str, Any] = Field(
        default_factory=dict,
        description="Environment variables whose values stay Pulumi secrets end to end (str or Output[str]).",
    )
    architecture: Architecture | None = Field(
        default=None, description="CPU architecture; None picks arm64 where the cloud has it, else x86_64."
    )
    http: HttpAccess | None = Field(
        default=None, description="None (no endpoint), 'public' or 'private' (authenticated)."
    )
    schedule: str | None = Field(
        default=None, description="'rate(N minutes|hours|days)' or 'cron(m h dom mon dow)', UTC."
    )
    min_instances: int = Field(
        default=0, ge=0, description="Warm instances kept ready (provisioned concurrency / always-ready)."
    )
    max_instances: int | None = Field(default=None, ge=1, description="Upper bound on concurrent instances.")
    log_retention_days: int = Field(default=30, ge=1, description="How long the function's logs are kept.")
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict, description="Tags / labels on every resource of the function.")
    links: list[Any] = Field(
        default_factory=list,
        description="Access to other components by verb: [orders.allow('read'), jobs.allow('send')].",
    )
    overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description=(
            "Per-cloud native properties merged into the main resource's arguments, "
            "e.g. {'aws': {'ephemeral_storage': ...}}."
        ),
    )

    @field_validator("handler")
    @classmethod
    def _handler_is_dotted_path(cls, value: str) -> str:
        if not _HANDLER.match(value):
            raise ValueError("must be 'package.module.function', e.g. 'functions.api.handle'")
        return value

    @field_validator("environment", "secrets")
    @classmethod
    def _env_names_and_values(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name, item in value.items():
            if not _ENV_NAME.match(name):
                raise ValueError(f"'{name}' is not a valid environment variable name")
            if name.startswith(RESERVED_ENV_PREFIXES):
                raise ValueError(f"'{name}' uses a prefix reserved by the platform: {RESERVED_ENV_PREFIXES}")
            if not isinstance(item, str) and not is_output_like(item):
                raise ValueError(f"'{name}' must be a str or a pulumi Output[str]")
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule_is_portable(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            parse_schedule(value)
        except ScheduleError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("links")
    @classmethod
    def _links_are_links(cls, value: list[Any]) -> list[Any]:
        from components.links import Link

        seen: set[str] = set()
        for item in value:
            if not isinstance(item, Link):
                raise ValueError(f"{item!r} is not a link; use <component>.allow('<verb>', ...)")
            if item.env_name in seen:
                raise ValueError(f"{item.kind} '{item.target.logical_name}' is linked twice; pass all verbs at once")
            seen.add(item.env_name)
        return value

    @field_validator("overrides")
    @classmethod
    def _overrides_name_clouds(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        unknown = set(value) - set(CLOUDS)
        if unknown:
            raise ValueError(f"keys must be clouds {CLOUDS}, got {sorted(unknown)}")
        return value
