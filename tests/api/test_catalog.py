"""GET /api/courses/catalog/list: the seed's public catalog."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, insert, text
from sqlalchemy.orm import Session

from api.app import create_app
from core.crypto import TokenCipher
from core.settings import Settings
from models import Course, Difficulty, Role
from services.demo import seed_demo
from tests.api.helpers import data, invalid_fields
from tests.models.factories import make_user

SEED_KEYS = {
    "courseId",
    "title",
    "instructor",
    "rating",
    "duration",
    "category",
    "coverImageUrl",
    "description",
    "price",
    "difficulty",
}


@pytest.fixture
def demo(session: Session, settings: Settings) -> None:
    seed_demo(session, cipher=TokenCipher.from_settings(settings))
    session.commit()


def catalog(client: TestClient, query: str = "") -> list[dict[str, object]]:
    body = data(client.get(f"/api/courses/catalog/list{query}"))
    assert list(body) == ["courses"]
    courses: list[dict[str, object]] = body["courses"]
    return courses


class TestOnTheDemoData:
    def test_has_the_seeds_shape_and_needs_no_token(self, client: TestClient, demo: None) -> None:
        courses = catalog(client)
        assert len(courses) == 11  # the twelfth demo course is a draft
        first = courses[0]
        assert set(first) == SEED_KEYS
        assert first["title"] == "Introduction to Python"
        assert first["instructor"] == "Jane Smith"
        assert isinstance(first["price"], float)
        assert first["difficulty"] == "Beginner"
        assert "Brand Storytelling" not in {c["title"] for c in courses}

    def test_filters_by_category_difficulty_and_duration(
        self, client: TestClient, demo: None
    ) -> None:
        programming = catalog(client, "?category=Programming")
        assert {c["category"] for c in programming} == {"Programming"}
        beginner = catalog(client, "?category=Programming&difficulty=Beginner")
        assert [c["title"] for c in beginner] == ["Introduction to Python"]
        short = catalog(client, "?duration=100")
        assert 0 < len(short) < 11
        assert all(int(str(c["duration"])) <= 100 for c in short)

    def test_search_price_sort_and_paging(self, client: TestClient, demo: None) -> None:
        assert [c["title"] for c in catalog(client, "?q=figma")] == ["Figma for Teams"]
        cheap = catalog(client, "?maxPrice=30&sort=price")
        assert [c["price"] for c in cheap] == sorted(c["price"] for c in cheap)  # type: ignore[type-var]
        assert all(float(str(c["price"])) <= 30 for c in cheap)
        assert all(float(str(c["price"])) >= 50 for c in catalog(client, "?minPrice=50"))
        # Ratings are the learners' reviews: courses nobody has rated yet come last.
        ratings = [c["rating"] for c in catalog(client, "?sort=-rating")]
        rated = [rating for rating in ratings if rating is not None]
        assert rated == sorted(rated, reverse=True)  # type: ignore[type-var]
        assert ratings == rated + [None] * (len(ratings) - len(rated))
        page = catalog(client, "?limit=3&offset=3")
        assert [c["courseId"] for c in page] == [c["courseId"] for c in catalog(client)][3:6]

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ("?difficulty=Expert", "difficulty"),
            ("?duration=-5", "duration"),
            ("?sort=secret", "sort"),
            ("?minPrice=free", "minPrice"),
            ("?limit=0", "limit"),
        ],
    )
    def test_bad_parameters_are_400(self, client: TestClient, query: str, field: str) -> None:
        assert invalid_fields(client.get(f"/api/courses/catalog/list{query}")) == [field]


@pytest.fixture
def many_courses(session: Session, engine: Engine) -> int:
    """10,000 published courses, written in bulk: far more than a page, and the number of
    statements a page costs does not depend on how many there are."""
    instructors = [make_user(session, role=Role.INSTRUCTOR, name=f"Teacher {n}") for n in range(20)]
    session.commit()
    rows = [
        {
            "title": f"Course {n}",
            "instructor_id": instructors[n % 20].user_id,
            "category": ("Programming", "Design", "Business", "Marketing")[n % 4],
            "difficulty": list(Difficulty)[n % 3],
            "price": Decimal(n % 200),
            "duration": 30 + n % 300,
            "description": "generated",
        }
        for n in range(10_000)
    ]
    with engine.begin() as conn:
        conn.execute(insert(Course), rows)
        conn.execute(
            text(
                "INSERT INTO course_catalog (course_id, is_active) "
                "SELECT course_id, true FROM courses"
            )
        )
    return len(rows)


@pytest.fixture
def counted(settings: Settings) -> Iterator[tuple[TestClient, list[str]]]:
    app = create_app(settings)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(app.state.lms.engine.sync_engine, "before_cursor_execute", count)
    with TestClient(app) as test_client:
        yield test_client, statements


def test_a_fixed_number_of_statements_on_10000_courses(
    many_courses: int, counted: tuple[TestClient, list[str]]
) -> None:
    client, statements = counted
    per_page = {}
    for limit in (1, 20, 100):
        statements.clear()
        courses = catalog(client, f"?category=Design&difficulty=Intermediate&limit={limit}")
        assert len(courses) == limit
        assert all(c["instructor"].startswith("Teacher") for c in courses)  # type: ignore[union-attr]
        per_page[limit] = len(statements)
    assert per_page == {1: 1, 20: 1, 100: 1}
