"""The response envelope every endpoint answers with, success or error (the seed's contract):

{"status": "success", "data": {...}, "timestamp": "2025-07-28T18:07:00Z"}
{"status": "error", "data": null, "error": {"errorCode": 400, "message": "..."}, "timestamp": ...}
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_serializer

from api.schemas.base import CamelModel
from core.clock import isoformat_z, utcnow

T = TypeVar("T")


def _now() -> datetime:
    return utcnow()


class Envelope(BaseModel, Generic[T]):
    """A successful answer."""

    status: Literal["success"] = "success"
    data: T
    timestamp: datetime = Field(default_factory=_now)

    @field_serializer("timestamp")
    def _iso(self, value: datetime) -> str:
        return isoformat_z(value)


class FieldProblem(CamelModel):
    field: str
    message: str


class ErrorBody(CamelModel):
    error_code: int
    message: str
    details: list[FieldProblem] | None = None


class ErrorEnvelope(BaseModel):
    """A refused or failed request: ``errorCode`` repeats the HTTP status."""

    status: Literal["error"] = "error"
    data: Any = None
    error: ErrorBody
    timestamp: datetime = Field(default_factory=_now)

    @field_serializer("timestamp")
    def _iso(self, value: datetime) -> str:
        return isoformat_z(value)


def ok(data: T) -> Envelope[T]:
    return Envelope[T](data=data)


def error_response(
    status_code: int,
    message: str,
    *,
    details: list[FieldProblem] | None = None,
    data: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorEnvelope(
        data=data, error=ErrorBody(error_code=status_code, message=message, details=details)
    )
    payload = body.model_dump(mode="json", by_alias=True)
    if details is None:
        payload["error"].pop("details")  # the seed's error body is exactly {errorCode, message}
    return JSONResponse(
        payload,
        status_code=status_code,
        headers=dict(headers or {}),
    )


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for a route's error answers, all in the envelope."""
    return {code: {"model": ErrorEnvelope} for code in codes}


# For the OpenAPI document: every route may answer with these.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorEnvelope, "description": "Invalid input data"},
    500: {"model": ErrorEnvelope, "description": "Server error occurred"},
}
