"""Declarations: the title of one row, made from the table's (plural) name."""

from __future__ import annotations

import pytest
from sqlalchemy import MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from resources import Resource
from resources.declaration import singular


class ScratchBase(DeclarativeBase):
    metadata = MetaData()


class Address(ScratchBase):
    __tablename__ = "addresses"

    address_id: Mapped[int] = mapped_column(primary_key=True)
    line: Mapped[str] = mapped_column(String(200))


class TestTitle:
    @pytest.mark.parametrize(
        ("table_name", "title"),
        [
            ("courses", "Course"),
            ("course_modules", "Course module"),
            ("addresses", "Address"),
            ("statuses", "Status"),
            ("categories", "Category"),
            ("analytics", "Analytics"),
            ("quizzes", "Quiz"),
            ("boxes", "Box"),
            ("batches", "Batch"),
            ("houses", "House"),
            ("user_accounts", "User account"),
            # Not plural to begin with: left as it is.
            ("course_catalog", "Course catalog"),
            ("progress_tracking", "Progress tracking"),
            ("status", "Status"),
        ],
    )
    def test_is_the_singular_of_the_table_name(self, table_name: str, title: str) -> None:
        assert singular(table_name) == title

    def test_a_resource_is_titled_from_its_table(self) -> None:
        assert Resource(model=Address, permissions={}, rows={}).title == "Address"

    def test_a_declared_label_wins(self) -> None:
        resource = Resource(model=Address, permissions={}, rows={}, label="Postal address")
        assert resource.title == "Postal address"
