"""The list query language: filters with operators, sorting, offset and cursor paging."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from models import Difficulty, Role
from tests.api.helpers import data, invalid_fields
from tests.models.factories import make_course, make_user
from tests.world import token_for

COURSES = [
    ("Python for Beginners", "Programming", Difficulty.BEGINNER, "10.00", "4.50"),
    ("Advanced Python", "Programming", Difficulty.ADVANCED, "90.00", "4.90"),
    ("Design Systems", "Design", Difficulty.INTERMEDIATE, "40.00", "4.10"),
    ("Colour Theory", "Design", Difficulty.BEGINNER, "0.00", None),
    ("100% Practical SQL", "Data Science", Difficulty.INTERMEDIATE, "55.50", "3.80"),
]


@pytest.fixture
def admin(session: Session) -> dict[str, str]:
    instructor = make_user(session, role=Role.INSTRUCTOR, name="Teacher")
    for title, category, difficulty, price, rating in COURSES:
        make_course(
            session,
            instructor=instructor,
            title=title,
            category=category,
            difficulty=difficulty,
            price=Decimal(price),
            rating=Decimal(rating) if rating else None,
        )
    admin = make_user(session, role=Role.ADMIN)
    session.commit()
    return {"Authorization": f"Bearer {token_for(session, admin.user_id)}"}


def titles(api: TestClient, query: str, headers: dict[str, str]) -> list[str]:
    page = data(api.get(f"/api/data/courses{query}", headers=headers))
    return [item["title"] for item in page["items"]]


class TestFilters:
    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("?category=Design", ["Design Systems", "Colour Theory"]),
            (
                "?category__ne=Programming&sort=title",
                ["100% Practical SQL", "Colour Theory", "Design Systems"],
            ),
            (
                "?price__lte=40&sort=price",
                ["Colour Theory", "Python for Beginners", "Design Systems"],
            ),
            ("?price__gt=40&price__lt=90", ["100% Practical SQL"]),
            ("?rating__gte=4.5&sort=-rating", ["Advanced Python", "Python for Beginners"]),
            ("?title__icontains=python&sort=title", ["Advanced Python", "Python for Beginners"]),
            ("?title__contains=Python&sort=title", ["Advanced Python", "Python for Beginners"]),
            ("?title__contains=python", []),
            (
                "?category__in=Design,Data Science&sort=title",
                ["100% Practical SQL", "Colour Theory", "Design Systems"],
            ),
            ("?difficulty=Beginner&sort=title", ["Colour Theory", "Python for Beginners"]),
            ("?title__icontains=100%25", ["100% Practical SQL"]),
            ("?title__icontains=_", []),
        ],
    )
    def test_operators(
        self, api: TestClient, admin: dict[str, str], query: str, expected: list[str]
    ) -> None:
        assert titles(api, query, admin) == expected

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ("?nope=1", "nope"),
            ("?passwordHash=x", "passwordHash"),
            ("?price__like=1", "price__like"),
            ("?price=cheap", "price"),
            ("?difficulty=Expert", "difficulty"),
            ("?price__icontains=1", "price__icontains"),
            ("?category=a&category=b", "category"),
            ("?sort=password", "sort"),
            ("?sort=title,-title", "sort"),
            ("?limit=0", "limit"),
            ("?limit=ten", "limit"),
            ("?offset=-1", "offset"),
            ("?cursor=not-ours", "cursor"),
            ("?cursor=WzEwMDAwMDAwMDAwMDAwMDAwMDAwMF0", "cursor"),
            ("?courseId=99999999999999999999", "courseId"),
            ("?offset=99999999999999999999", "offset"),
            ("?createdAt__gt=yesterday", "createdAt__gt"),
            ("?cursor=&sort=title", "cursor"),
        ],
    )
    def test_unknown_or_bad_parameters_are_400(
        self, api: TestClient, admin: dict[str, str], query: str, field: str
    ) -> None:
        assert invalid_fields(api.get(f"/api/data/courses{query}", headers=admin)) == [field]

    def test_dates_filter_in_utc(self, api: TestClient, admin: dict[str, str]) -> None:
        assert len(titles(api, "?createdAt__gte=2000-01-01T00:00:00Z", admin)) == 5
        assert titles(api, "?createdAt__lt=2000-01-01", admin) == []

    def test_ids_beyond_the_integer_range_are_400(
        self, api: TestClient, admin: dict[str, str]
    ) -> None:
        response = api.get("/api/data/courses/99999999999999999999", headers=admin)
        assert response.status_code == 400

    def test_hidden_fields_cannot_be_probed(self, api: TestClient, admin: dict[str, str]) -> None:
        for query in ("?passwordHash__contains=$argon", "?sort=passwordHash"):
            response = api.get(f"/api/data/users{query}", headers=admin)
            assert response.status_code == 400
        users = data(api.get("/api/data/users", headers=admin))["items"]
        assert all("passwordHash" not in user for user in users)


class TestPaging:
    def test_offset_paging_reports_the_total(self, api: TestClient, admin: dict[str, str]) -> None:
        page = data(api.get("/api/data/courses?limit=2&offset=2&sort=title", headers=admin))
        assert (page["total"], page["limit"], page["offset"]) == (5, 2, 2)
        assert [item["title"] for item in page["items"]] == ["Colour Theory", "Design Systems"]

    def test_a_page_larger_than_the_maximum_is_capped(
        self, api: TestClient, admin: dict[str, str]
    ) -> None:
        page = data(api.get("/api/data/courses?limit=1000", headers=admin))
        assert page["limit"] == 100

    def test_the_default_page_is_twenty(self, api: TestClient, admin: dict[str, str]) -> None:
        assert data(api.get("/api/data/courses", headers=admin))["limit"] == 20

    def test_cursor_paging_walks_every_row_once(
        self, api: TestClient, admin: dict[str, str]
    ) -> None:
        seen: list[int] = []
        cursor = ""
        for _ in range(10):
            page = data(api.get(f"/api/data/courses?limit=2&cursor={cursor}", headers=admin))
            seen += [item["courseId"] for item in page["items"]]
            if page["nextCursor"] is None:
                break
            cursor = page["nextCursor"]
        assert len(seen) == 5
        assert seen == sorted(seen)

    def test_cursor_paging_keeps_filters(self, api: TestClient, admin: dict[str, str]) -> None:
        page = data(api.get("/api/data/courses?category=Design&cursor=&limit=1", headers=admin))
        second = data(
            api.get(
                f"/api/data/courses?category=Design&cursor={page['nextCursor']}&limit=1",
                headers=admin,
            )
        )
        assert [page["items"][0]["title"], second["items"][0]["title"]] == [
            "Design Systems",
            "Colour Theory",
        ]
        assert second["nextCursor"] is None

    def test_count_applies_the_filters(self, api: TestClient, admin: dict[str, str]) -> None:
        response = api.get("/api/data/courses/count?category=Programming", headers=admin)
        assert data(response) == {"count": 2}


class TestShape:
    def test_items_are_camel_case_with_numbers_for_amounts(
        self, api: TestClient, admin: dict[str, str]
    ) -> None:
        item = data(api.get("/api/data/courses?title=Advanced Python", headers=admin))["items"][0]
        assert item["price"] == 90.0
        assert item["rating"] == 4.9
        assert {"courseId", "instructorId", "coverImageUrl", "createdAt"} <= set(item)
        assert item["createdAt"].endswith("Z")
