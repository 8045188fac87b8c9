"""The base every API schema derives from: camelCase JSON, snake_case attributes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CamelModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        from_attributes=True,
        # Unknown fields are refused, so a typo in a request is a 400 rather than silently lost.
        extra="forbid",
    )
