"""Saving an edit form unchanged, in Chromium, changes nothing, in every editable view.

What the browser sends is what it shows: a drop-down with no option selected sends its
first option (saving an instructor made them a student), an empty text box sends "", a
text area sends its line breaks as CR LF. Each view's row is made awkward to keep
(tests/admin/editing.py): drop-downs not at their first choice, NULLs, a price with a
trailing zero, texts over several lines.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from models import User
from tests.admin.editing import EDITABLE, audit_count, awkward_row, snapshot
from tests.browser.conftest import PASSWORD, OpenPanel
from tests.world import World, world

__all__ = ["world"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    # The forms are the same on both backends (tests/admin/test_edit_forms.py runs both).
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]

EMAILS = {"admin": "root@example.com", "instructor_x": "x@example.com"}


@pytest.fixture
def awkward_world(world: World, session: Session, password_hash: str) -> World:
    """The world, where everyone signs in with PASSWORD and every editable view's row of
    instructor_x is awkward to keep."""
    session.execute(update(User).values(password_hash=password_hash))
    session.commit()
    for resource in EDITABLE.values():
        awkward_row(session, world, resource)
    return world


@pytest.mark.parametrize("actor", ["admin", "instructor_x"])
class TestSavingEveryEditFormUnchanged:
    def test_leaves_every_row_and_the_audit_log_as_they_were(
        self, actor: str, awkward_world: World, session: Session, open_panel: OpenPanel
    ) -> None:
        desk = open_panel(actor)
        desk.sign_in(EMAILS[actor], PASSWORD)
        saved = []
        for path, resource in EDITABLE.items():
            if path == "users" and actor != "admin":
                continue  # instructors only read users
            table = resource.table_name
            rows = awkward_world.users if table == "users" else awkward_world.rows[table]
            row_id = rows["instructor_x"]
            before, entries = snapshot(session, resource, row_id), audit_count(session)

            desk.visit(f"/admin/{path}/edit/{row_id}", f"{path}-edit-form")
            desk.save(lands_on=f"/admin/{path}/list", step=f"{path}-saved")

            assert snapshot(session, resource, row_id) == before, path
            assert audit_count(session) == entries, path
            saved.append(path)
        assert len(saved) == len(EDITABLE) - (actor != "admin")
