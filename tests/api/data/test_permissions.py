"""Who reaches what, for every resource and every role: the table the platform promises.

Each row of the world belongs to someone (``world.rows[table][owner]``); the expectations
name, per table and caller, whose rows the caller sees. Anything else answers 404 by id
and never appears in a list, whatever the filter or the sort.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic.alias_generators import to_camel

from resources.registry import RESOURCES
from tests.world import World

A, B, X, Y, ADMIN, ANON = (
    "student_a",
    "student_b",
    "instructor_x",
    "instructor_y",
    "admin",
    "anonymous",
)
ACTORS = [A, B, X, Y, ADMIN]
PATHS = {resource.table_name: resource.path for resource in RESOURCES}
KEYS = {resource.table_name: to_camel(resource.primary_key) for resource in RESOURCES}

OWN = {A: {A}, B: {B}, X: {X}, Y: {Y}, ADMIN: {A, B, X, Y, ADMIN}}
# X's course is published, Y's is a draft; A learns from X, B from Y.
CATALOG = {A: {X}, B: {X}, X: {X}, Y: {X, Y}, ADMIN: {X, Y}}
PAID_CONTENT = {A: {X}, B: {Y}, X: {X}, Y: {Y}, ADMIN: {X, Y}}
LEARNING = {A: {A}, B: {B}, X: {A}, Y: {B}, ADMIN: {A, B}}
PRIVATE = {A: {A}, B: {B}, X: set(), Y: set(), ADMIN: {A, B}}

VISIBLE: dict[str, dict[str, set[str]]] = {
    "users": OWN,
    "user_accounts": PRIVATE,
    "courses": CATALOG,
    "course_catalog": CATALOG,
    "course_modules": CATALOG,
    "media_repository": PAID_CONTENT,
    # Questions carry their answers: learners never read this table.
    "quizzes": {X: {X}, Y: {Y}, ADMIN: {X, Y}},
    "enrollments": LEARNING,
    "progress_tracking": LEARNING,
    "certificates": LEARNING,
    "quiz_attempts": LEARNING,
    "course_reviews": LEARNING,
    "payment_gateway": PRIVATE,
    "notifications": PRIVATE,
    "notification_log": PRIVATE,
    "analytics": {ADMIN: {A, B}},  # nobody else may list analytics at all
    "audit_log": {ADMIN: {ADMIN}},  # the admin panel's record, for admins only
    "payment_events": {ADMIN: {ADMIN}},  # Paystack's webhooks, for admins only
}

WORKFLOW = {
    "audit_log",
    "payment_events",
    "user_accounts",
    "enrollments",
    "progress_tracking",
    "certificates",
    "quiz_attempts",
    "course_reviews",
    "payment_gateway",
    "notifications",
    "notification_log",
    "analytics",
}
# A harmless change per writable table, for the update matrix.
CHANGES = {
    "users": {"name": "Renamed"},
    "courses": {"title": "Renamed"},
    "course_catalog": {"isActive": True},
    "course_modules": {"title": "Renamed"},
    "media_repository": {"mediaType": "document"},
    "quizzes": {"title": "Renamed"},
}


def test_every_table_is_declared() -> None:
    from models import Base
    from resources.registry import INTERNAL_TABLES

    assert set(VISIBLE) == set(PATHS)
    assert set(PATHS) | INTERNAL_TABLES == set(Base.metadata.tables)


def owner_of(world: World, table: str, row_id: int) -> str:
    return next(owner for owner, rid in world.rows[table].items() if rid == row_id)


@pytest.mark.parametrize("table", sorted(VISIBLE))
def test_reading(table: str, api: TestClient, world: World) -> None:
    path = f"/api/data/{PATHS[table]}"
    assert api.get(path).status_code == 401
    for actor in ACTORS:
        expected = VISIBLE[table].get(actor)
        response = api.get(path, headers=world.headers(actor))
        if expected is None:
            assert response.status_code == 403, (table, actor)
            continue
        assert response.status_code == 200, (table, actor, response.text)
        pk = (
            next(iter(response.json()["data"]["items"][0]))
            if response.json()["data"]["items"]
            else None
        )
        seen = {
            owner_of(world, table, item[pk])
            for item in response.json()["data"]["items"]
            if pk and item[pk] in world.rows[table].values()
        }
        assert seen == expected, (table, actor)
        for owner, row_id in world.rows[table].items():
            single = api.get(f"{path}/{row_id}", headers=world.headers(actor))
            assert single.status_code == (200 if owner in expected else 404), (table, actor, owner)
        count = api.get(f"{path}/count", headers=world.headers(actor)).json()["data"]["count"]
        assert count == response.json()["data"]["total"]


@pytest.mark.parametrize("table", sorted(WORKFLOW))
def test_workflow_tables_are_read_only_for_everyone(
    table: str, api: TestClient, world: World
) -> None:
    path = f"/api/data/{PATHS[table]}"
    row_id = next(iter(world.rows[table].values()))
    for actor in [*ACTORS, ANON]:
        headers = world.headers(actor)
        assert api.post(path, json={}, headers=headers).status_code == 405
        assert api.patch(f"{path}/{row_id}", json={}, headers=headers).status_code == 405
        assert api.delete(f"{path}/{row_id}", headers=headers).status_code == 405


def expected_update(table: str, actor: str, owner: str) -> int:
    if actor == ANON:
        return 401
    if actor == ADMIN:
        return 200
    if table == "users" or actor in (A, B):
        return 403
    if owner == actor:
        return 200
    # Another instructor's row: forbidden if they can read it, absent if they cannot.
    return 403 if owner in VISIBLE[table][actor] else 404


@pytest.mark.parametrize("table", sorted(CHANGES))
def test_updating(table: str, api: TestClient, world: World) -> None:
    path = f"/api/data/{PATHS[table]}"
    owners = [X, Y] if table != "users" else [A, X]
    for actor in [*ACTORS, ANON]:
        for owner in owners:
            row_id = world.rows[table][owner]
            response = api.patch(
                f"{path}/{row_id}", json=CHANGES[table], headers=world.headers(actor)
            )
            assert response.status_code == expected_update(table, actor, owner), (
                table,
                actor,
                owner,
                response.text,
            )


@pytest.mark.parametrize("table", ["courses", "course_modules", "media_repository", "quizzes"])
def test_only_instructors_and_admins_create_catalog_rows(
    table: str, api: TestClient, world: World
) -> None:
    path = f"/api/data/{PATHS[table]}"
    for actor in (A, B):
        assert api.post(path, json={}, headers=world.headers(actor)).status_code == 403
    assert api.post(path, json={}).status_code == 401


def test_only_admins_manage_users_and_catalog_entries(api: TestClient, world: World) -> None:
    for actor in (A, X):
        headers = world.headers(actor)
        assert api.post("/api/data/users", json={}, headers=headers).status_code == 403
        assert api.delete(f"/api/data/users/{world.users[B]}", headers=headers).status_code == 403
        assert api.post("/api/data/course-catalog", json={}, headers=headers).status_code == 403
        entry = world.rows["course_catalog"][X]
        assert api.delete(f"/api/data/course-catalog/{entry}", headers=headers).status_code == 403


STUDENT_TABLES = ["enrollments", "payment_gateway", "certificates", "notifications"]


@pytest.mark.parametrize("table", STUDENT_TABLES)
def test_a_student_never_reaches_another_students_rows(
    table: str, api: TestClient, world: World
) -> None:
    path = f"/api/data/{PATHS[table]}"
    a, b = world.users[A], world.users[B]
    theirs = world.rows[table][B]
    headers = world.headers(A)
    probes = [
        f"?userId={b}",
        f"?userId__in={a},{b}",
        f"?userId__ne={a}",
        "?userId__gte=0&sort=-userId",
        "?sort=-userId&limit=100",
        "?cursor=",
        "?limit=1&offset=1",
    ]
    for probe in probes:
        response = api.get(f"{path}{probe}", headers=headers)
        assert response.status_code == 200, (probe, response.text)
        assert all(item["userId"] == a for item in response.json()["data"]["items"]), probe
        counted = api.get(
            f"{path}/count{probe.split('&sort')[0].replace('?cursor=', '')}", headers=headers
        )
        assert counted.status_code in (200, 400)
    assert api.get(f"{path}/{theirs}", headers=headers).status_code == 404
    assert api.get(f"{path}/count?userId={b}", headers=headers).json()["data"]["count"] == 0


def expected_delete(table: str, actor: str, owner: str) -> int:
    if actor == ANON:
        return 401
    if table == "users":
        # Only admins delete users; these ones have payments, which are never deleted.
        return 409 if actor == ADMIN else 403
    if actor in (A, B):
        return 403
    if actor != ADMIN and owner != actor:
        return 403 if owner in VISIBLE[table][actor] else 404
    # Courses and modules with learners' records behind them stay.
    return 409 if table in ("courses", "course_modules") else 200


@pytest.mark.parametrize("actor", [*ACTORS, ANON])
@pytest.mark.parametrize(
    "table", ["users", "courses", "course_modules", "media_repository", "quizzes"]
)
def test_deleting(table: str, actor: str, api: TestClient, world: World) -> None:
    path = f"/api/data/{PATHS[table]}"
    owners = [X, Y] if table != "users" else [A]
    for owner in owners:
        response = api.delete(f"{path}/{world.rows[table][owner]}", headers=world.headers(actor))
        assert response.status_code == expected_delete(table, actor, owner), (
            table,
            actor,
            owner,
            response.text,
        )
