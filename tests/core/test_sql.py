"""LIKE searches take the searched text literally: its % and _ are not wildcards."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.sql import LIKE_ESCAPE, contains, contains_pattern
from models import Course
from tests.models.factories import make_course

TITLES = ["100% Python", "1000 Python tips", "snake_case style", "snakeXcase style", "a\\b path"]


class TestContainsPattern:
    @pytest.mark.parametrize(
        ("value", "pattern"),
        [
            ("python", "%python%"),
            ("100%", "%100\\%%"),
            ("snake_case", "%snake\\_case%"),
            ("a\\b", "%a\\\\b%"),
            ("", "%%"),
        ],
    )
    def test_escapes_the_wildcards_and_the_escape(self, value: str, pattern: str) -> None:
        assert LIKE_ESCAPE == "\\"
        assert contains_pattern(value) == pattern


class TestContains:
    @pytest.fixture
    def courses(self, session: Session) -> None:
        for title in TITLES:
            make_course(session, title=title)

    def found(self, session: Session, value: str, *, ignore_case: bool = False) -> list[str]:
        query = select(Course.title).where(contains(Course.title, value, ignore_case=ignore_case))
        return sorted(session.scalars(query))

    @pytest.mark.usefixtures("courses")
    @pytest.mark.parametrize(
        ("value", "titles"),
        [
            ("100%", ["100% Python"]),
            ("snake_case", ["snake_case style"]),
            ("a\\b", ["a\\b path"]),
            ("%", ["100% Python"]),
            ("_", ["snake_case style"]),
        ],
    )
    def test_matches_the_text_literally(
        self, session: Session, value: str, titles: list[str]
    ) -> None:
        assert self.found(session, value) == titles

    @pytest.mark.usefixtures("courses")
    def test_is_case_sensitive_unless_asked(self, session: Session) -> None:
        assert self.found(session, "PYTHON") == []
        assert self.found(session, "PYTHON", ignore_case=True) == [
            "100% Python",
            "1000 Python tips",
        ]
