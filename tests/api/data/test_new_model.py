"""The low-code promise: a model and its declaration are all a new resource needs.

The model here is declared in the test itself (on its own metadata, so the platform's
schema and migrations are untouched), and gets a complete, secured resource.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, ForeignKey, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from api.app import create_app
from api.data.router import build_data_router
from core.settings import Settings
from models import Role, User
from models.base import NAMING_CONVENTION, TimestampMixin
from resources import Resource, all_rows
from resources.declaration import EVERYTHING
from tests.api.helpers import assert_error, data, invalid_fields
from tests.world import World


class ScratchBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Bookmark(TimestampMixin, ScratchBase):
    __tablename__ = "scratch_bookmarks"

    bookmark_id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey(User.__table__.c.user_id, ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(80))
    url: Mapped[str] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)


BOOKMARKS = Resource(
    Bookmark,
    permissions={Role.STUDENT: EVERYTHING, Role.INSTRUCTOR: EVERYTHING, Role.ADMIN: EVERYTHING},
    rows={
        Role.STUDENT: lambda user: Bookmark.owner_id == user.user_id,
        Role.INSTRUCTOR: lambda user: Bookmark.owner_id == user.user_id,
        Role.ADMIN: all_rows,
    },
    owner="owner_id",
)


@pytest.fixture
def client(settings: Settings, engine: Engine, world: World) -> Iterator[TestClient]:
    ScratchBase.metadata.create_all(engine)
    app = create_app(settings)
    app.include_router(build_data_router([BOOKMARKS]))
    try:
        with TestClient(app) as test_client:
            yield test_client
    finally:
        ScratchBase.metadata.drop_all(engine)


def test_a_declared_model_gets_a_complete_secured_resource(
    client: TestClient, world: World
) -> None:
    a, b, admin = (world.headers(who) for who in ("student_a", "student_b", "admin"))
    made = data(
        client.post(
            "/api/data/scratch-bookmarks",
            headers=a,
            json={"title": "Docs", "url": "https://docs.example.com"},
        ),
        201,
    )
    assert made["ownerId"] == world.users["student_a"]
    assert made["note"] is None
    path = f"/api/data/scratch-bookmarks/{made['bookmarkId']}"

    assert data(client.get("/api/data/scratch-bookmarks", headers=a))["total"] == 1
    assert data(client.get("/api/data/scratch-bookmarks", headers=b))["total"] == 0
    assert data(client.get("/api/data/scratch-bookmarks", headers=admin))["total"] == 1
    assert client.get(path, headers=b).status_code == 404
    assert client.patch(path, json={"title": "Mine"}, headers=b).status_code == 404
    assert client.delete(path, headers=b).status_code == 404
    assert_error(client.get("/api/data/scratch-bookmarks"), 401, "Authentication required")

    changed = data(client.patch(path, json={"note": "read later"}, headers=a))
    assert (changed["title"], changed["note"]) == ("Docs", "read later")
    assert (
        data(client.get("/api/data/scratch-bookmarks?title__icontains=doc", headers=a))["items"][0][
            "bookmarkId"
        ]
        == made["bookmarkId"]
    )

    assert invalid_fields(
        client.post("/api/data/scratch-bookmarks", headers=a, json={"title": "x" * 81, "url": "u"})
    ) == ["title"]
    assert invalid_fields(
        client.post("/api/data/scratch-bookmarks", headers=a, json={"url": "u"})
    ) == ["title"]
    assert invalid_fields(
        client.post(
            "/api/data/scratch-bookmarks",
            headers=a,
            json={"title": "t", "url": "u", "ownerId": world.users["student_b"]},
        )
    ) == ["ownerId"]

    assert data(client.delete(path, headers=a)) == {"message": "Scratch bookmark deleted"}
    assert client.get(path, headers=a).status_code == 404

    schema = client.get("/openapi.json").json()
    assert "/api/data/scratch-bookmarks" in schema["paths"]
    assert "BookmarkRead" in schema["components"]["schemas"]
