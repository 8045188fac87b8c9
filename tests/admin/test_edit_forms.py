"""Every generated edit form shows the row as it is, so saving it unchanged changes nothing.

The rows are made awkward on purpose: every drop-down's value is not its first choice (a
select showing nothing sends its first option: saving an instructor made them a student),
nullable columns are NULL (never saved back as ""), prices carry a trailing zero, long
texts span lines (browsers send CR LF). The views are every editable one, found from the
declarations and the panel's overrides, as the panel builds them.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import JSON
from sqlalchemy.orm import Session

from models import Role
from tests.admin.conftest import SignIn
from tests.admin.editing import EDITABLE, audit_count, awkward_row, snapshot, stored
from tests.admin.html_forms import HtmlForm, as_post, read_form
from tests.world import World

# Whose rows each editor edits: the admin every view, an instructor their own course's rows.
EDITORS = [
    (path, actor)
    for path, resource in EDITABLE.items()
    for actor, role in (("admin", Role.ADMIN), ("instructor_x", Role.INSTRUCTOR))
    if resource.in_panel(role) and resource.allows(role, "update")
]


def test_the_editable_views_are_the_catalogs_and_users() -> None:
    # So a view that stops being editable (or a new one) is noticed here.
    assert set(EDITABLE) == {"users", "courses", "course-catalog", "course-modules", "quizzes"}


def edit_form(client: Any, path: str, row_id: int) -> HtmlForm:
    page = client.get(f"/admin/{path}/edit/{row_id}")
    assert page.status_code == 200, page.text
    return read_form(page.text, f"/admin/{path}/edit/{row_id}")


@pytest.mark.parametrize(("path", "actor"), EDITORS)
class TestTheEditFormShowsTheRow:
    def test_every_choice_shows_the_rows_current_value(
        self, path: str, actor: str, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        resource = EDITABLE[path]
        row = awkward_row(session, panel_world, resource)
        form = edit_form(sign_in(actor), path, getattr(row, resource.primary_key))
        assert form.selects or path in ("course-catalog", "course-modules")
        for name, choice in form.selects.items():
            value = getattr(row, name)
            expected = "" if value is None else stored(value)
            assert choice.selected == [expected], f"{path}.{name} shows {choice.selected}"

    def test_every_other_field_shows_the_stored_value(
        self, path: str, actor: str, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        resource = EDITABLE[path]
        row = awkward_row(session, panel_world, resource)
        form = edit_form(sign_in(actor), path, getattr(row, resource.primary_key))
        shown = dict(form.inputs)
        for name in resource.writable:
            column = resource.columns[name]
            if name in form.selects or (name not in shown and name not in form.textareas):
                continue  # a checkbox left unticked, a field this editor is not given
            value = getattr(row, name)
            if name in form.textareas:
                text = form.textareas[name]
                if isinstance(column.type, JSON):
                    continue  # a document is shown as JSON text; its round trip is below
                assert text == ("" if value is None else str(value)), name
            elif isinstance(value, bool):
                assert shown[name] == "y", name  # a ticked checkbox
            else:
                assert shown[name] == ("" if value is None else str(value)), name


@pytest.mark.parametrize(("path", "actor"), EDITORS)
class TestSavingTheEditFormUnchanged:
    def test_changes_nothing_and_logs_nothing(
        self, path: str, actor: str, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        resource = EDITABLE[path]
        row = awkward_row(session, panel_world, resource)
        row_id = getattr(row, resource.primary_key)
        before, entries = snapshot(session, resource, row_id), audit_count(session)
        client = sign_in(actor)
        form = edit_form(client, path, row_id)

        answer = client.post(f"/admin/{path}/edit/{row_id}", data=as_post(form.submission()))

        assert answer.status_code == 302, answer.text
        assert snapshot(session, resource, row_id) == before
        assert audit_count(session) == entries
