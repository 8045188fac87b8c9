"""The panel's forms take what the data API takes and refuse what it refuses: strict
numbers and booleans, no NUL characters, an empty box for a nullable field is NULL.

A refusal is the form again (400) with a message, and nothing saved.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from models import Course, CourseModule, User
from tests.admin.conftest import SignIn
from tests.world import World


def module_form(**values: str) -> dict[str, str]:
    return {"title": "Module", "position": "1", "duration": "0", "save": "Save", **values}


def user_form(world: World, **values: str) -> dict[str, str]:
    fields = {"email": "x@example.com", "name": "X", "role": "instructor", "save": "Save"}
    return {**fields, "username": "user-x", "is_active": "y", **values}


def post(client: TestClient, path: str, data: dict[str, str]) -> Any:
    return client.post(f"/admin/{path}", data=data)


class TestRefusedInput:
    @pytest.mark.parametrize(
        ("values", "message"),
        [
            ({"position": "1.0e3"}, "Not a valid integer value."),
            ({"position": "true"}, "Not a valid integer value."),
            ({"position": "1.5"}, "Not a valid integer value."),
            ({"position": ""}, "This field is required."),
            ({"position": "99999999999999999999"}, "less than or equal to 2147483647"),
            ({"title": "Mod\x00ule"}, "must not contain NUL characters"),
        ],
    )
    def test_a_module_form_is_shown_again_with_the_problem(
        self,
        values: dict[str, str],
        message: str,
        sign_in: SignIn,
        panel_world: World,
        session: Session,
    ) -> None:
        module_id = panel_world.rows["course_modules"]["instructor_x"]
        answer = post(
            sign_in("instructor_x"), f"course-modules/edit/{module_id}", module_form(**values)
        )
        assert answer.status_code == 400
        assert message in answer.text
        session.expire_all()
        assert session.get(CourseModule, module_id).title == "Module of instructor_x"  # type: ignore[union-attr]

    @pytest.mark.parametrize("ticked", ["0", "no", "off", "true"])
    def test_a_checkbox_takes_only_what_a_checkbox_sends(
        self, ticked: str, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        user_id = panel_world.users["instructor_x"]
        form = user_form(panel_world, is_verified=ticked, name="Changed")
        answer = post(sign_in("admin"), f"users/edit/{user_id}", form)
        assert answer.status_code == 400
        assert "Not a valid boolean value." in answer.text
        session.expire_all()
        user = session.get(User, user_id)
        assert user is not None
        assert (user.name, user.is_verified) != ("Changed", True)


class TestHonouredInput:
    def test_a_ticked_box_and_an_unticked_one(
        self, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        user_id = panel_world.users["instructor_x"]
        form = user_form(panel_world, is_verified="y")
        answer = post(sign_in("admin"), f"users/edit/{user_id}", form)
        assert answer.status_code == 302, answer.text
        session.expire_all()
        user = session.get(User, user_id)
        assert user is not None
        assert (user.is_active, user.is_verified) == (True, True)

    def test_an_empty_box_for_a_nullable_field_is_null_as_in_the_api(
        self, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        user_id = panel_world.users["instructor_x"]
        form = user_form(panel_world, phone="", avatar_url="")
        assert post(sign_in("admin"), f"users/edit/{user_id}", form).status_code == 302
        session.expire_all()
        user = session.get(User, user_id)
        assert user is not None
        assert (user.phone, user.avatar_url) == (None, None)

    def test_a_price_in_exponent_notation_is_its_number_as_in_the_api(
        self, sign_in: SignIn, panel_world: World, session: Session
    ) -> None:
        # The API takes {"price": 1.0e3} (a JSON number) as 1000; so does the panel.
        course_id = panel_world.rows["courses"]["instructor_x"]
        form = {
            "title": "T",
            "duration": "10",
            "category": "c",
            "description": "d",
            "difficulty": "Beginner",
            "price": "1.0e3",
            "save": "Save",
        }
        assert post(sign_in("instructor_x"), f"courses/edit/{course_id}", form).status_code == 302
        session.expire_all()
        assert str(session.get(Course, course_id).price) == "1000.00"  # type: ignore[union-attr]
