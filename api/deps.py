"""Request dependencies: settings, the request's unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.state import AppState
from core.database import AsyncUnitsOfWork, async_unit_of_work, async_units_of_work
from core.settings import Settings


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.lms
    return state


def get_settings(state: Annotated[AppState, Depends(get_state)]) -> Settings:
    return state.settings


async def get_session(
    state: Annotated[AppState, Depends(get_state)],
) -> AsyncIterator[AsyncSession]:
    """One session and one transaction per request: services flush, this commits once.

    The commit runs before the response is sent, so a failed commit answers as an error
    rather than after a success the client already saw.
    """
    async with async_unit_of_work(state.sessions) as session:
        yield session


def get_units(state: Annotated[AppState, Depends(get_state)]) -> AsyncUnitsOfWork:
    """Short units of work, opened one after another, for a route that must write, call an
    outside system with no transaction open, and write again (an upload to S3, a payment
    with Paystack): ``async with units() as session: ...`` commits at the end of the block.
    Such a route takes this instead of ``SessionDep``."""
    return async_units_of_work(state.sessions)


# scope="function": the commit (and a refusal it may meet) happens before the response is
# sent, never after a success the client already saw.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
StateDep = Annotated[AppState, Depends(get_state)]
UnitsDep = Annotated[AsyncUnitsOfWork, Depends(get_units)]
