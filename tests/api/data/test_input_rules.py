"""What the data API accepts: filters that fit the field's type, strict numbers and booleans,
text without NUL bytes, http(s) URLs, quiz documents of their declared shape, bounded text.
Each was a 500 or a silent bad write before (issue 11, findings 2, 4, 5, 9, 13)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic.alias_generators import to_camel
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.data.query import OPERATORS, operators_for
from api.data.schemas import value_type
from models import Course, Quiz
from resources.registry import RESOURCES
from tests.api.helpers import assert_error, data, invalid_fields
from tests.world import World

X, ADMIN = "instructor_x", "admin"


def _sample(resource: Any, name: str) -> str:
    """A value of the field's type, as a query string carries it."""
    kind = value_type(resource.columns[name])
    if kind is bool:
        return "true"
    if kind in (int, Decimal):
        return "1"
    if kind is datetime:
        return "2026-01-01T00:00:00Z"
    if isinstance(kind, type) and issubclass(kind, Enum):
        return str(next(iter(kind)).value)
    return "a"


class TestFiltersFollowTheFieldsType:
    def test_ordering_a_boolean_is_a_400_naming_the_parameter(
        self, api: TestClient, world: World
    ) -> None:
        for url, parameter in [
            ("/api/data/course-catalog?isActive__gte=true", "isActive__gte"),
            ("/api/data/course-catalog?isActive__lt=false", "isActive__lt"),
            ("/api/data/users?isActive__gt=true", "isActive__gt"),
            ("/api/data/users?isVerified__lte=true", "isVerified__lte"),
        ]:
            answer = api.get(url, headers=world.headers(ADMIN))
            assert invalid_fields(answer) == [parameter]
            assert "does not apply" in answer.json()["error"]["details"][0]["message"]

    def test_every_operator_on_every_field_answers_200_or_400(
        self, api: TestClient, world: World
    ) -> None:
        for resource in RESOURCES:
            # One field of each kind of operator set per resource keeps this quick.
            kinds = {operators_for(resource.columns[n]): n for n in sorted(resource.filter_fields)}
            for name in kinds.values():
                allowed = operators_for(resource.columns[name])
                for operator in sorted(OPERATORS):
                    parameter = f"{to_camel(name)}__{operator}"
                    url = f"/api/data/{resource.path}/count?{parameter}={_sample(resource, name)}"
                    answer = api.get(url, headers=world.headers(ADMIN))
                    expected = 200 if operator in allowed else 400
                    assert answer.status_code == expected, (url, answer.text)


def _quiz(world: World, questions: Any) -> dict[str, Any]:
    return {"courseId": world.rows["courses"][X], "title": "Check", "questions": questions}


QUESTION = {"question": "2 + 2?", "choices": ["3", "4"], "answer": 1}


class TestQuizDocuments:
    def test_a_well_formed_quiz_is_stored(self, api: TestClient, world: World) -> None:
        quiz = data(
            api.post("/api/data/quizzes", json=_quiz(world, [QUESTION]), headers=world.headers(X)),
            201,
        )
        assert quiz["questions"] == [QUESTION]

    @pytest.mark.parametrize("depth", [20, 255, 256, 600])
    def test_deep_nesting_is_refused_and_lists_keep_working(
        self, api: TestClient, world: World, session: Session, depth: int
    ) -> None:
        nested: Any = 1
        for _ in range(depth):
            nested = [nested]
        answer = api.post("/api/data/quizzes", json=_quiz(world, nested), headers=world.headers(X))
        assert invalid_fields(answer)[0].startswith("questions")
        assert session.scalars(select(Quiz).where(Quiz.title == "Check")).all() == []
        assert api.get("/api/data/quizzes", headers=world.headers(ADMIN)).status_code == 200

    @pytest.mark.parametrize(
        "questions",
        [
            [QUESTION | {"answer": 2}],  # not one of the choices
            [QUESTION | {"choices": ["only"]}],  # one choice
            [QUESTION | {"choices": ["a"] * 11}],  # too many
            [QUESTION | {"question": ""}],
            [QUESTION | {"question": "x" * 1001}],
            [QUESTION | {"answer": True}],  # not a number
            [QUESTION | {"hint": {"deep": [1]}}],  # unknown key
            [QUESTION] * 101,
            {"question": "not a list"},
        ],
    )
    def test_a_quiz_of_the_wrong_shape_is_refused(
        self, api: TestClient, world: World, questions: Any
    ) -> None:
        answer = api.post(
            "/api/data/quizzes", json=_quiz(world, questions), headers=world.headers(X)
        )
        assert invalid_fields(answer)[0].startswith("questions")

    def test_a_quiz_cannot_be_changed_into_the_wrong_shape(
        self, api: TestClient, world: World
    ) -> None:
        quiz_id = world.rows["quizzes"][X]
        answer = api.patch(
            f"/api/data/quizzes/{quiz_id}", json={"questions": [[[[1]]]]}, headers=world.headers(X)
        )
        assert invalid_fields(answer)[0].startswith("questions")


class TestStrictValues:
    @pytest.mark.parametrize(
        "change",
        [
            {"duration": True},
            {"duration": 1.5},
            {"duration": "90"},
            {"price": True},
            {"title": "Intro\x00duction"},
            {"category": "\x00"},
            {"description": "x" * 20_001},
        ],
    )
    def test_a_course_change_of_the_wrong_kind_is_refused_and_nothing_changes(
        self, api: TestClient, world: World, session: Session, change: dict[str, Any]
    ) -> None:
        course_id = world.rows["courses"][X]
        before = api.get(f"/api/data/courses/{course_id}", headers=world.headers(X)).json()["data"]
        answer = api.patch(f"/api/data/courses/{course_id}", json=change, headers=world.headers(X))
        assert invalid_fields(answer) == list(change)
        after = api.get(f"/api/data/courses/{course_id}", headers=world.headers(X)).json()["data"]
        assert after == before

    def test_a_boolean_must_be_a_boolean(self, api: TestClient, world: World) -> None:
        entry_id = world.rows["course_catalog"][X]
        for value in ["true", 1, 0]:
            answer = api.patch(
                f"/api/data/course-catalog/{entry_id}",
                json={"isActive": value},
                headers=world.headers(X),
            )
            assert invalid_fields(answer) == ["isActive"]

    def test_a_nul_byte_in_a_new_row_is_refused(self, api: TestClient, world: World) -> None:
        module = {"courseId": world.rows["courses"][X], "title": "A\x00", "position": 5}
        answer = api.post("/api/data/course-modules", json=module, headers=world.headers(X))
        assert invalid_fields(answer) == ["title"]


class TestUrlFields:
    @pytest.mark.parametrize(
        "url",
        [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "//evil.example/x.png",
            "/relative/cover.png",
            "https:///no-host",
            "https://cdn.example.com/a b.png",
            "ftp://files.example.com/cover.png",
        ],
    )
    def test_only_absolute_http_urls_are_accepted(
        self, api: TestClient, world: World, session: Session, url: str
    ) -> None:
        course_id = world.rows["courses"][X]
        answer = api.patch(
            f"/api/data/courses/{course_id}", json={"coverImageUrl": url}, headers=world.headers(X)
        )
        assert invalid_fields(answer) == ["coverImageUrl"]
        assert session.get(Course, course_id).cover_image_url != url  # type: ignore[union-attr]

    def test_an_https_url_is_kept(self, api: TestClient, world: World) -> None:
        course_id = world.rows["courses"][X]
        url = "https://cdn.example.com/covers/python.png"
        changed = api.patch(
            f"/api/data/courses/{course_id}", json={"coverImageUrl": url}, headers=world.headers(X)
        )
        assert data(changed)["coverImageUrl"] == url


# One change per writable resource, made by each role that may make it, on a row it owns.
CHANGES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("users", "admin", "admin", {"name": "Root Admin"}),
    ("users", "admin", "student_a", {"name": "Ada"}),
    ("courses", "instructor_x", "instructor_x", {"title": "Renamed"}),
    ("courses", "admin", "instructor_y", {"title": "Renamed by admin"}),
    ("course_modules", "instructor_x", "instructor_x", {"title": "Renamed module"}),
    ("course_modules", "admin", "instructor_y", {"title": "Renamed module"}),
    ("quizzes", "instructor_x", "instructor_x", {"title": "Renamed quiz"}),
    ("quizzes", "admin", "instructor_y", {"passMark": 80}),
    ("course_catalog", "instructor_x", "instructor_x", {"isActive": False}),
    ("course_catalog", "admin", "instructor_x", {"isActive": False}),
]


class TestEveryWritableResourceChanges:
    @pytest.mark.parametrize(("table", "actor", "owner", "change"), CHANGES)
    def test_a_patch_answers_the_changed_row(
        self,
        api: TestClient,
        world: World,
        table: str,
        actor: str,
        owner: str,
        change: dict[str, Any],
    ) -> None:
        resource = next(r for r in RESOURCES if r.table_name == table)
        row_id = world.rows[table][owner]
        answer = api.patch(
            f"/api/data/{resource.path}/{row_id}", json=change, headers=world.headers(actor)
        )
        changed = data(answer)
        assert {key: changed[key] for key in change} == change

    def test_an_admin_changes_their_own_email_and_role_fields(
        self, api: TestClient, world: World
    ) -> None:
        admin_id = world.users[ADMIN]
        for change in (
            {"email": "root2@example.com"},
            {"phone": "+2348012345678"},
            {"role": "admin"},
        ):
            answer = api.patch(
                f"/api/data/users/{admin_id}", json=change, headers=world.headers(ADMIN)
            )
            assert data(answer)[next(iter(change))] == next(iter(change.values()))


def test_errors_name_the_field_in_camel_case(api: TestClient, world: World) -> None:
    course_id = world.rows["courses"][X]
    answer = api.patch(
        f"/api/data/courses/{course_id}",
        json={"coverImageUrl": "javascript:x"},
        headers=world.headers(X),
    )
    body = assert_error(answer, 400, "Invalid input data")
    assert "http(s)" in body["error"]["details"][0]["message"]
