"""Base model: camelCase on the wire (as Kubernetes expects), snake_case in Python."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class WireModel(BaseModel):
    """A model that reads and writes camelCase keys and rejects unknown fields.

    Rejecting unknown fields turns a typo in a manifest into an error naming the field instead of
    a silently ignored setting.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        validate_assignment=True,
    )

    def wire(self) -> dict[str, object]:
        """The camelCase JSON-ready form, without unset defaults that are None."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
