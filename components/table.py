"""``Table``: items by partition key and optional sort key, with indexes and a change feed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pulumi
from pydantic import Field, field_validator, model_validator

from components._args import ComponentArgs, coerce_args
from components._component import OmnicloudComponent
from components.errors import require

if TYPE_CHECKING:
    from components.function import Function

KeyType = Literal["string", "number"]
_ATTRIBUTE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class IndexArgs(ComponentArgs):
    """A secondary index with its own keys (eventually consistent on every cloud)."""

    name: str
    partition_key: str
    sort_key: str | None = None

    @field_validator("name")
    @classmethod
    def _index_name(cls, value: str) -> str:
        if not re.match(r"^[a-z][a-z0-9-]{0,31}$", value):
            raise ValueError("1-32 lowercase letters, digits or '-', starting with a letter")
        return value


class TableArgs(ComponentArgs):
    """Arguments of :class:`Table`. Attribute names are portable identifiers."""

    partition_key: str
    sort_key: str | None = None
    key_types: dict[str, KeyType] = Field(
        default_factory=dict, description="Types of key attributes; 'string' unless named here."
    )
    ttl_attribute: str | None = Field(default=None, description="Attribute holding an expiry time (epoch seconds).")
    indexes: list[IndexArgs] = Field(default_factory=list)
    point_in_time_recovery: bool = True
    tags: dict[str, str] = Field(default_factory=dict, description="Tags / labels on every resource.")
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("partition_key", "sort_key", "ttl_attribute")
    @classmethod
    def _attribute(cls, value: str | None) -> str | None:
        if value is not None and not _ATTRIBUTE.match(value):
            raise ValueError("attribute names are 1-64 letters, digits or '_', not starting with a digit")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TableArgs:
        keys = self.key_attributes()
        unknown = set(self.key_types) - keys
        if unknown:
            raise ValueError(f"key_types names {sorted(unknown)}, which are not key attributes {sorted(keys)}")
        names = [index.name for index in self.indexes]
        if len(names) != len(set(names)):
            raise ValueError("index names must be unique")
        if self.ttl_attribute is not None and self.ttl_attribute in keys:
            raise ValueError("the TTL attribute cannot be a key attribute")
        return self

    def key_attributes(self) -> set[str]:
        """Every attribute used as a key by the table or an index."""
        keys = {self.partition_key} | ({self.sort_key} if self.sort_key else set())
        for index in self.indexes:
            keys |= {index.partition_key} | ({index.sort_key} if index.sort_key else set())
        return keys

    def key_type(self, attribute: str) -> KeyType:
        return self.key_types.get(attribute, "string")

    def key_schema(self) -> dict[str, Any]:
        """The key schema every table locator carries, on every cloud (the runtime clients and
        change adapters need it to address items)."""
        return {
            "partition_key": self.partition_key,
            "sort_key": self.sort_key,
            "key_types": {attribute: self.key_type(attribute) for attribute in sorted(self.key_attributes())},
            "indexes": [
                {"name": index.name, "partition_key": index.partition_key, "sort_key": index.sort_key}
                for index in self.indexes
            ],
            "ttl_attribute": self.ttl_attribute,
        }


@dataclass(frozen=True)
class ChangeSubscription:
    """How a Function receives a Table's changes (``table.on_change(fn, ...)``)."""

    batch_size: int = 100


class Table(OmnicloudComponent):
    """A key/sort-key table. Verbs for :meth:`allow`: ``read``, ``write``, ``delete``."""

    KIND = "table"
    VERBS = ("read", "write", "delete")

    name: pulumi.Output[str]
    resource_id: pulumi.Output[str]
    resources: Any
    args: TableArgs

    def __init__(
        self,
        name: str,
        args: TableArgs | dict[str, Any],
        opts: pulumi.ResourceOptions | None = None,
        *,
        cloud: str | None = None,
    ) -> None:
        self.args = coerce_args(f"Table '{name}'", TableArgs, args)
        self._impl = self._start(name, self.args, opts, cloud)
        built = self._impl.create(name, self.args, self)
        self.name = built.name
        self.resource_id = built.resource_id
        self.locator = built.locator
        self.resources = built.resources
        self.register_outputs({"name": self.name, "resource_id": self.resource_id})

    def on_change(self, function: Function, *, batch_size: int = 100) -> Any:
        """Deliver inserts, modifications and removals (with old and new images) as ``TableChange``."""
        component = f"Table '{self.logical_name}'"
        require(batch_size >= 1, component, "batch_size", batch_size, "at least 1")
        self._same_cloud(function, "on_change")
        options = ChangeSubscription(batch_size)
        self._impl.validate_subscription(self.logical_name, self.args, options)
        return self._impl.on_change(self, function, options)
