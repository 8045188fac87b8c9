"""The low-code promise, in the panel: a declared model has its view with no panel code."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from admin import mount_admin
from api.state import AppState
from core.settings import Settings
from tests.admin.conftest import PANEL_PASSWORD
from tests.api.data.test_new_model import BOOKMARKS, Bookmark, ScratchBase
from tests.world import World

SCRATCH = "/scratch-admin"


@pytest.fixture
def scratch_panel(
    settings: Settings, engine: Engine, panel_world: World, session: Session
) -> Iterator[TestClient]:
    ScratchBase.metadata.create_all(engine)
    # An app of its own: sqladmin names its routes "admin:…", one panel per app.
    state = AppState.build(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await state.close()  # on the loop that opened its connections

    app = FastAPI(lifespan=lifespan)
    mount_admin(app, state, [BOOKMARKS], base_url=SCRATCH)
    try:
        with TestClient(app, follow_redirects=False) as client:
            yield client
    finally:
        session.rollback()  # the test's reads hold a lock DROP TABLE would wait for
        ScratchBase.metadata.drop_all(engine)


def sign_in(client: TestClient, email: str) -> None:
    answer = client.post(f"{SCRATCH}/login", data={"username": email, "password": PANEL_PASSWORD})
    assert answer.status_code == 302


def test_a_declared_model_gets_its_panel_view(
    scratch_panel: TestClient, panel_world: World, session: Session
) -> None:
    sign_in(scratch_panel, "root@example.com")
    assert f"{SCRATCH}/scratch-bookmarks/list" in scratch_panel.get(f"{SCRATCH}/").text

    form = scratch_panel.get(f"{SCRATCH}/scratch-bookmarks/create").text
    for field in ('name="title"', 'name="url"', 'name="note"', 'name="owner_id"'):
        assert field in form
    made = scratch_panel.post(
        f"{SCRATCH}/scratch-bookmarks/create",
        data={"title": "Docs", "url": "https://docs.example.com", "note": "", "save": "Save"},
    )
    assert made.status_code == 302, made.text

    bookmark = session.scalars(select(Bookmark)).one()
    # The declaration's owner rule: an admin who names no owner owns it.
    assert bookmark.owner_id == panel_world.users["admin"]
    listed = scratch_panel.get(f"{SCRATCH}/scratch-bookmarks/list").text
    assert "Docs" in listed


def test_instructors_reach_it_only_when_the_declaration_says_so(
    scratch_panel: TestClient, panel_world: World
) -> None:
    sign_in(scratch_panel, "x@example.com")
    assert scratch_panel.get(f"{SCRATCH}/scratch-bookmarks/list").status_code == 403
