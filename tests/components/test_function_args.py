"""FunctionArgs: the cloud-independent checks, with errors naming component, field and value."""

from __future__ import annotations

import pytest

from components import Function, FunctionArgs
from components.errors import InvalidArgsError
from components.testing import MockStack


@pytest.mark.parametrize(
    ("args", "field", "reason"),
    [
        ({"handler": "api"}, "handler", "package.module.function"),
        ({"handler": "functions.api.handle", "runtime": "python3.9"}, "runtime", "python3.11"),
        ({"handler": "functions.api.handle", "timeout_s": 0}, "timeout_s", "greater than or equal to 1"),
        ({"handler": "functions.api.handle", "http": "open"}, "http", "public"),
        ({"handler": "functions.api.handle", "schedule": "every day"}, "schedule", "rate(N"),
        ({"handler": "functions.api.handle", "schedule": "cron(0 2 * *)"}, "schedule", "5 fields"),
        ({"handler": "functions.api.handle", "environment": {"1BAD": "x"}}, "environment", "not a valid"),
        ({"handler": "functions.api.handle", "environment": {"AWS_REGION": "x"}}, "environment", "reserved"),
        ({"handler": "functions.api.handle", "secrets": {"TOKEN": 3}}, "secrets", "str or a pulumi"),
        ({"handler": "functions.api.handle", "overrides": {"ibm": {}}}, "overrides", "keys must be clouds"),
        ({"handler": "functions.api.handle", "min_instances": -1}, "min_instances", "greater than or equal"),
        ({"handler": "functions.api.handle", "colour": "blue"}, "colour", "Extra inputs"),
    ],
)
def test_bad_args_fail_before_any_resource_with_field_and_reason(project_root, args, field, reason):
    with MockStack(cloud="aws", root=project_root) as stack:
        with pytest.raises(InvalidArgsError) as raised:
            Function("api", args)
        assert stack.resources == []
    error = raised.value
    assert error.component == "Function 'api'"
    assert error.field.startswith(field)
    assert reason in str(error)


def test_args_are_frozen():
    args = FunctionArgs(handler="functions.api.handle")
    with pytest.raises(ValueError):
        args.memory_mb = 1024  # type: ignore[misc]


def test_defaults_scale_to_zero():
    args = FunctionArgs(handler="functions.api.handle")
    assert args.min_instances == 0
    assert args.max_instances is None
    assert args.http is None
