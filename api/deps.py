"""Request dependencies: settings, the request's unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from api.state import AppState
from core.database import AsyncUnitsOfWork, async_unit_of_work, async_units_of_work
from core.settings import Settings


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.lms
    return state


def get_settings(state: Annotated[AppState, Depends(get_state)]) -> Settings:
    return state.settings


# Methods that only read, by HTTP's definition; our routes keep to it.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(
    request: Request, state: Annotated[AppState, Depends(get_state)]
) -> AsyncIterator[AsyncSession]:
    """One session and one transaction per request: services flush, this commits once.

    The commit runs before the response is sent, so a failed commit answers as an error
    rather than after a success the client already saw. The request's session says whether
    it only reads (``reads_only``): on SQLite a writing one holds the write lock from its
    first statement.
    """
    factory = state.sessions if reads_only(request) else state.write_sessions
    async with async_unit_of_work(factory) as session:
        yield session


def reads_only(request: Request) -> bool:
    """Whether the request's own session only reads: a safe method, or a route that writes
    through short units of work of its own (``UnitsDep``), its request session serving the
    sign-in alone. Such a session holding SQLite's write lock would make the route's units
    wait for it until the busy timeout."""
    route = request.scope.get("route")
    return request.method in SAFE_METHODS or (
        isinstance(route, APIRoute) and _writes_in_units(route)
    )


def _writes_in_units(route: APIRoute) -> bool:
    # A walk of a dozen dependencies: cheaper than keeping answers for every app built.
    def uses_units(dependant: Dependant) -> bool:
        return any(d.call is get_units or uses_units(d) for d in dependant.dependencies)

    return uses_units(route.dependant)


def get_units(
    state: Annotated[AppState, Depends(get_state)],
    request_session: Annotated[AsyncSession, Depends(get_session, scope="function")],
) -> AsyncUnitsOfWork:
    """Short units of work, opened one after another, for a route that must write, call an
    outside system with no transaction open, and write again (an upload to S3, a payment
    with Paystack): ``async with units() as session: ...`` commits at the end of the block.
    Such a route takes this instead of ``SessionDep``.

    The request's own session has only read (the sign-in) by the time a unit opens: its
    connection goes back to the pool first. A request holding one connection while it
    waits for another would deadlock the pool under as many concurrent requests as it has
    connections."""
    units = async_units_of_work(state.write_sessions)

    @asynccontextmanager
    async def unit() -> AsyncIterator[AsyncSession]:
        if request_session.in_transaction():
            await request_session.commit()
        async with units() as session:
            yield session

    return unit


# scope="function": the commit (and a refusal it may meet) happens before the response is
# sent, never after a success the client already saw.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
StateDep = Annotated[AppState, Depends(get_state)]
UnitsDep = Annotated[AsyncUnitsOfWork, Depends(get_units)]
