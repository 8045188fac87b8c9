"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import StateDep
from api.envelope import Envelope, ErrorEnvelope, error_response, ok
from api.schemas.base import CamelModel
from api.state import AppState
from core.logging import get_logger

router = APIRouter(tags=["health"])
log = get_logger("api.health")

CHECK_TIMEOUT_SECONDS = 3.0

CheckResult = Literal["ok", "unreachable", "not configured"]


class Liveness(CamelModel):
    alive: bool


class Readiness(CamelModel):
    database: CheckResult
    redis: CheckResult


async def _check_database(state: AppState) -> CheckResult:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        log.warning("readiness: database unreachable", error=type(exc).__name__)
        return "unreachable"
    return "ok"


async def _check_redis(state: AppState) -> CheckResult:
    if state.redis is None:
        return "not configured"
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await state.redis.ping()  # type: ignore[misc]
    except Exception as exc:
        log.warning("readiness: redis unreachable", error=type(exc).__name__)
        return "unreachable"
    return "ok"


@router.get("/healthz", response_model=Envelope[Liveness], summary="The process is alive")
async def healthz() -> Envelope[Liveness]:
    return ok(Liveness(alive=True))


@router.get(
    "/readyz",
    response_model=Envelope[Readiness],
    responses={503: {"model": ErrorEnvelope, "description": "A dependency is unreachable"}},
    summary="The database (and Redis, when configured) answer",
)
async def readyz(state: StateDep) -> Envelope[Readiness] | JSONResponse:
    database, redis = await asyncio.gather(_check_database(state), _check_redis(state))
    readiness = Readiness(database=database, redis=redis)
    if "unreachable" in (database, redis):
        return error_response(
            503, "Service not ready", data=readiness.model_dump(mode="json", by_alias=True)
        )
    return ok(readiness)
