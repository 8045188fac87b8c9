"""Turns every error into the envelope: validation, HTTP, domain and database errors.

Anything not handled here reaches :class:`api.middleware.RequestContextMiddleware`, which
answers 500 "Server error occurred" without internals.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic.alias_generators import to_camel
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.envelope import FieldProblem, error_response
from core.database import is_database_busy
from core.errors import DomainError, InvalidInput, TooManyRequests
from core.logging import get_logger

log = get_logger("api.errors")

INVALID_INPUT = "Invalid input data"
DATABASE_BUSY = "The database is busy; try again shortly"
DATABASE_BUSY_RETRY_SECONDS = 1

_HTTP_MESSAGES = {
    401: "Authentication required",
    403: "Access denied",
    404: "Resource not found",
    405: "Method not allowed",
    413: "Request body too large",
    415: "Unsupported media type",
}

# Request locations that say where, not what: "body.email" reads better as "email".
_LOCATIONS = {"body", "query", "path", "header", "cookie"}


def _field_name(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    return ".".join(parts) or "body"


def problem_message(error: Mapping[str, Any]) -> str:
    """One pydantic error as the client reads it. Our own validators' refusals keep their
    words: pydantic would prefix them with "Value error, "."""
    if error.get("type") == "json_invalid":
        return "Malformed JSON"
    if error.get("type") == "value_error" and "error" in error.get("ctx", {}):
        return str(error["ctx"]["error"])
    return str(error.get("msg", "Invalid value"))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        FieldProblem(field=_field_name(tuple(error.get("loc", ()))), message=problem_message(error))
        for error in exc.errors()
    ]
    # A route may name its own refusal (the payment routes: "Invalid payment details").
    message = getattr(request.scope.get("route"), "invalid_input_message", INVALID_INPUT)
    return error_response(400, message, details=problems)


# FastAPI's words for a body it could not read at all (json.loads refusing a number longer
# than Python parses): the same refusal as any other malformed body.
_UNREADABLE_BODY = "There was an error parsing the body"


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _UNREADABLE_BODY:
        message = getattr(request.scope.get("route"), "invalid_input_message", INVALID_INPUT)
        problem = FieldProblem(field="body", message="Malformed JSON")
        return error_response(400, message, details=[problem])
    # Starlette's default detail is the bare status phrase; a route's own detail is kept.
    phrase = HTTPStatus(exc.status_code).phrase
    if isinstance(exc.detail, str) and exc.detail and exc.detail != phrase:
        message = exc.detail
    else:
        message = _HTTP_MESSAGES.get(exc.status_code, phrase)
    return error_response(exc.status_code, message, headers=exc.headers)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return domain_error_response(exc)


def domain_error_response(exc: DomainError) -> JSONResponse:
    """A domain refusal as the client hears it (also kept as the first answer to an
    idempotent request)."""
    if isinstance(exc, InvalidInput):
        # Services name fields as the domain does (snake_case); the client knows camelCase.
        name = exc.parameter or to_camel(exc.field or "body")
        problem = FieldProblem(field=name, message=exc.problem)
        # "Invalid input data" unless the refusal has words of its own in the contract
        # ("Invalid payment details").
        return error_response(400, exc.message, details=[problem])
    if isinstance(exc, TooManyRequests):
        return error_response(429, exc.message, headers={"Retry-After": str(exc.retry_after)})
    return error_response(exc.status_code, exc.message)


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    # A constraint the service did not check first (usually a race): the database's
    # decision stands and the client hears it as a conflict, never as a 500.
    log.warning("integrity error", error=str(getattr(exc, "orig", exc)).splitlines()[0])
    return error_response(409, "The request conflicts with existing data")


def database_busy(exc: BaseException, path: str) -> JSONResponse | None:
    """503 with Retry-After when ``exc`` is SQLite's write lock held past the busy timeout:
    contention the client may retry, not a fault. Also used by the outermost middleware, for
    the panel's pages, which FastAPI's handlers do not see."""
    if not is_database_busy(exc):
        return None
    log.warning("database busy", path=path)
    return error_response(
        503, DATABASE_BUSY, headers={"Retry-After": str(DATABASE_BUSY_RETRY_SECONDS)}
    )


async def _operational_error(request: Request, exc: Exception) -> JSONResponse:
    response = database_busy(exc, request.url.path)
    if response is None:
        raise exc  # a real fault: the last-resort 500, with the traceback in the log
    return response


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OperationalError, _operational_error)
