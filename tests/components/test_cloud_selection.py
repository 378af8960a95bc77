"""Which cloud a component lands on, and the error when nobody said."""

from __future__ import annotations

import pytest

from components import Function, FunctionArgs
from components.errors import CloudSelectionError
from components.testing import MockStack

ARGS = FunctionArgs(handler="functions.api.handle")


def test_stack_config_selects_the_cloud(project_root):
    with MockStack(cloud="gcp", root=project_root) as stack:
        fn = Function("api", ARGS)
    assert fn.cloud == "gcp"
    assert any(t.startswith("gcp:") for t in stack.types())


def test_explicit_cloud_beats_stack_config(project_root):
    with MockStack(cloud="gcp", root=project_root) as stack:
        fn = Function("api", ARGS, cloud="aws")
    assert fn.cloud == "aws"
    types = stack.types()
    assert "aws:lambda/function:Function" in types
    assert not any(t.startswith("gcp:") for t in types)


def test_missing_cloud_names_key_and_choices_before_registering(project_root):
    with MockStack(root=project_root) as stack:
        with pytest.raises(CloudSelectionError) as raised:
            Function("api", ARGS)
        assert stack.resources == []
    message = str(raised.value)
    assert "omnicloud:cloud" in message and "<not set>" in message
    for choice in ("aws", "azure", "gcp", "local"):
        assert choice in message


def test_unknown_cloud_in_config_is_named(project_root):
    with MockStack(config={"omnicloud:cloud": "digitalocean"}, root=project_root) as stack:
        with pytest.raises(CloudSelectionError, match="'digitalocean'"):
            Function("api", ARGS)
        assert stack.resources == []


def test_unknown_explicit_cloud_is_rejected(project_root):
    with MockStack(cloud="aws", root=project_root) as stack:
        with pytest.raises(CloudSelectionError, match="cloud="):
            Function("api", ARGS, cloud="ibm")
        assert stack.resources == []


def test_args_as_plain_dict_are_validated_into_the_model(project_root):
    with MockStack(cloud="aws", root=project_root):
        fn = Function("api", {"handler": "functions.api.handle", "memory_mb": 1024})
    assert isinstance(fn.args, FunctionArgs)
    assert fn.args.memory_mb == 1024
