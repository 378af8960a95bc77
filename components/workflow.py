"""``Workflow``: one portable definition, compiled to Step Functions, Durable Functions and
Cloud Workflows (and run by the portable interpreter locally).

The steps (``Task``, ``Choice``, ``Parallel``, ``Map``, ``Wait``, ``Fail``, ``Succeed``,
``Retry``, ``Catch`` and the conditions) live in :mod:`components.workflow_steps` and are
re-exported here, so a program writes::

    from components import Workflow, WorkflowArgs
    from components.workflow import Task, Choice, Case, Parallel, Map, Retry, Catch, Fail, Eq

The whole tree is validated when :class:`WorkflowArgs` is built (step paths in every error);
what one cloud cannot run faithfully is rejected by that cloud's provider, also before
anything is registered. A task's ``function`` must be a :class:`~components.Function` of the
same program, created before the Workflow: the Workflow grants itself what calling it needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi
from pydantic import BaseModel, Field, ValidationError, model_validator

from components._args import ComponentArgs, coerce_args
from components._component import OmnicloudComponent
from components.errors import InvalidArgsError
from components.workflow_steps import (
    And,
    Case,
    Catch,
    Choice,
    Condition,
    Eq,
    Exists,
    Fail,
    Ge,
    Gt,
    IsNull,
    Le,
    Lt,
    Map,
    Ne,
    Not,
    Or,
    Parallel,
    Retry,
    Step,
    Succeed,
    Task,
    Wait,
    and_,
    definition_to_json,
    eq,
    exists,
    ge,
    gt,
    is_null,
    le,
    lt,
    ne,
    not_,
    or_,
    task_functions,
    validate_steps,
)

if TYPE_CHECKING:
    from components.function import Function


class WorkflowArgs(ComponentArgs):
    """A workflow definition: the top-level list of steps, plus tags and per-cloud overrides."""

    steps: list[Step]
    tags: dict[str, str] = Field(default_factory=dict, description="Tags / labels on every resource.")
    log_retention_days: int = Field(
        default=30,
        ge=1,
        description="How long execution logs are kept (AWS log group, Azure Application Insights; on GCP "
        "call logs go to the project's _Default bucket and keep its retention).",
    )
    overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per cloud, extra arguments for the main native resource."
    )

    def __init__(self, **data: Any) -> None:
        try:
            BaseModel.__init__(self, **data)
        except ValidationError as exc:
            _reraise_ours(exc)
            raise

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any) -> WorkflowArgs:  # type: ignore[override]
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as exc:
            _reraise_ours(exc)
            raise

    @model_validator(mode="after")
    def _validate_tree(self) -> WorkflowArgs:
        validate_steps(self.steps)
        return self

    def definition(self) -> dict[str, Any]:
        """The plain JSON form every compiler and the interpreter read."""
        return definition_to_json(self.steps)


def _reraise_ours(exc: ValidationError) -> None:
    """Surface our own whole-tree error instead of pydantic's wrapper around it."""
    for err in exc.errors():
        inner = (err.get("ctx") or {}).get("error")
        if isinstance(inner, InvalidArgsError):
            raise inner from None


class Workflow(OmnicloudComponent):
    """A durable workflow over Functions: Step Functions, Durable Functions, Cloud Workflows.

    Outputs: ``name``, ``resource_id`` (state machine ARN / orchestrator app's resource ID /
    workflow's full name), ``resources``. Verb for :meth:`allow`: ``start`` — a linked
    function starts executions with ``runtime.workflow("<name>").start(input)``.
    """

    KIND = "workflow"
    VERBS = ("start",)

    name: pulumi.Output[str]
    resource_id: pulumi.Output[str]
    resources: Any
    args: WorkflowArgs
    functions: dict[str, Any]
    """The Functions the tasks call, by logical name. (``Any``: Pulumi evaluates component
    annotations at run time, and ``Function`` is imported only for type checking.)"""

    def __init__(
        self,
        name: str,
        args: WorkflowArgs | dict[str, Any],
        opts: pulumi.ResourceOptions | None = None,
        *,
        cloud: str | None = None,
    ) -> None:
        self.args = coerce_args(f"Workflow '{name}'", WorkflowArgs, args)
        self.functions = _task_targets(name, self.args)
        impl = self._start(name, self.args, opts, cloud)
        for function in self.functions.values():
            self._same_cloud(function, "steps")
        built = impl.create(name, self.args, self.functions, self)
        self.name = built.name
        self.resource_id = built.resource_id
        self.locator = built.locator
        self.resources = built.resources
        self.register_outputs({"name": self.name, "resource_id": self.resource_id})


def _task_targets(name: str, args: WorkflowArgs) -> dict[str, Function]:
    """Resolve every task's function name to the program's Function of that name."""
    from components.function import functions_in_program

    defined = functions_in_program()
    found: dict[str, Function] = {}
    for field, function in task_functions(args.steps):
        if function not in defined:
            known = ", ".join(sorted(defined)) or "none yet"
            raise InvalidArgsError(
                f"Workflow '{name}'",
                f"{field}.function",
                function,
                f"a Function created earlier in this program (defined: {known})",
            )
        found[function] = defined[function]
    return found


__all__ = [
    "And",
    "Case",
    "Catch",
    "Choice",
    "Condition",
    "Eq",
    "Exists",
    "Fail",
    "Ge",
    "Gt",
    "IsNull",
    "Le",
    "Lt",
    "Map",
    "Ne",
    "Not",
    "Or",
    "Parallel",
    "Retry",
    "Step",
    "Succeed",
    "Task",
    "Wait",
    "Workflow",
    "WorkflowArgs",
    "and_",
    "definition_to_json",
    "eq",
    "exists",
    "ge",
    "gt",
    "is_null",
    "le",
    "lt",
    "ne",
    "not_",
    "or_",
    "validate_steps",
]
