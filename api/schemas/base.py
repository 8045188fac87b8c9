"""The base every API schema derives from: camelCase JSON, snake_case attributes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

# The databases' INTEGER: larger numbers are refused as input, never sent to SQL.
INT32_MAX = 2**31 - 1
RowId = Annotated[int, Field(ge=1, le=INT32_MAX)]
Offset = Annotated[int, Field(ge=0, le=INT32_MAX)]


class CamelModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        from_attributes=True,
        # Unknown fields are refused, so a typo in a request is a 400 rather than silently lost.
        extra="forbid",
    )
