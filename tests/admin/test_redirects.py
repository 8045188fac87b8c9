"""The panel never redirects off the site: not through the Host header a client sends, not
through the page an action was started from.

sqladmin builds its redirects from the request's Host header; the panel answers each with
a path, which the browser resolves against the site it is really on.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from admin import on_site
from tests.admin.conftest import PANEL_PASSWORD, SignIn
from tests.world import World

EVIL = {"host": "evil.example"}


def assert_on_site(answer: Response) -> None:
    assert answer.status_code in (302, 303, 307), answer.text
    location = answer.headers["location"]
    assert location.startswith("/admin"), location
    assert not location.startswith(("//", "/\\")), location


# What a signed-in instructor does, with a forged Host header.
AFTER: dict[str, Callable[[TestClient, World], Response]] = {
    "an action": lambda client, world: client.get(
        f"/admin/courses/action/unpublish?pks={world.rows['courses']['instructor_x']}",
        headers=EVIL,
    ),
    "an action started from that host": lambda client, world: client.get(
        f"/admin/courses/action/unpublish?pks={world.rows['courses']['instructor_x']}",
        headers={**EVIL, "referer": "http://evil.example/admin/courses/list"},
    ),
    "a page past the last": lambda client, world: client.get(
        "/admin/courses/list?page=99", headers=EVIL
    ),
    "saving an edit": lambda client, world: client.post(
        f"/admin/course-modules/edit/{world.rows['course_modules']['instructor_x']}",
        data={"title": "Renamed", "position": "0", "duration": "0", "save": "Save"},
        headers=EVIL,
    ),
    "saving and continuing": lambda client, world: client.post(
        f"/admin/course-modules/edit/{world.rows['course_modules']['instructor_x']}",
        data={
            "title": "Renamed",
            "position": "0",
            "duration": "0",
            "save": "Save and continue editing",
        },
        headers=EVIL,
    ),
}


class TestRedirectsAreOnSite:
    def test_to_the_sign_in_page(self, panel_app: FastAPI) -> None:
        with TestClient(panel_app, follow_redirects=False) as client:
            assert_on_site(client.get("/admin/courses/list", headers=EVIL))

    def test_after_signing_in_and_out(self, panel_app: FastAPI, panel_world: World) -> None:
        with TestClient(panel_app, follow_redirects=False) as client:
            signed_in = client.post(
                "/admin/login",
                data={"username": "root@example.com", "password": PANEL_PASSWORD},
                headers=EVIL,
            )
            assert_on_site(signed_in)
            assert_on_site(client.get("/admin/logout", headers=EVIL))

    @pytest.mark.parametrize("how", AFTER)
    def test_after(self, how: str, sign_in: SignIn, panel_world: World) -> None:
        assert_on_site(AFTER[how](sign_in("instructor_x"), panel_world))


class TestWhereAnActionLeadsBack:
    @pytest.mark.parametrize(
        "referer",
        [
            "https://evil.example/admin/courses/list",
            "http://testserver/admin-evil/",
            "http://testserver/api/users/me",
        ],
    )
    def test_never_outside_the_panel(
        self, referer: str, sign_in: SignIn, panel_world: World
    ) -> None:
        course_id = panel_world.rows["courses"]["instructor_x"]
        answer = sign_in("instructor_x").get(
            f"/admin/courses/action/unpublish?pks={course_id}", headers={"referer": referer}
        )
        assert answer.headers["location"] == "/admin/courses/list"


class TestOnSite:
    @pytest.mark.parametrize(
        ("location", "path"),
        [
            ("http://evil.example/admin/", "/admin/"),
            ("https://EVIL.example/admin/x?error=no", "/admin/x?error=no"),
            ("http://evil.example//other.example/admin", "/other.example/admin"),
            ("http://evil.example/\\other.example", "/other.example"),
        ],
    )
    def test_the_requests_own_host_becomes_a_path(self, location: str, path: str) -> None:
        assert on_site(location, "evil.example") == path

    def test_another_sites_address_is_left_to_its_view(self) -> None:
        assert on_site("https://cdn.example.com/a.png", "lms.example") == (
            "https://cdn.example.com/a.png"
        )
