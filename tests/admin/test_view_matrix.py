"""Every panel view against both panel roles: which views each role sees, which pages open,
which rows they show, and what no page ever shows (password hashes, OAuth tokens, card data).

The policy is written out below, literally, on purpose: it is not derived from the
declarations in ``resources/registry.py``, so a wrong declaration fails here.
"""

from __future__ import annotations

import csv
import io
import re
from contextlib import closing
from typing import Any, NamedTuple

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import Base, Payment, UserAccount
from tests.admin.conftest import SignIn
from tests.world import World

# -- the world's rows, per view ---------------------------------------------------------------

# identity: (table, the row on instructor_x's side, the row on instructor_y's side), as
# world.rows[table][actor]. Student A learns in X's course, student B in Y's.
TABLES: dict[str, tuple[str, str, str]] = {
    "users": ("users", "instructor_x", "instructor_y"),
    "user-accounts": ("user_accounts", "student_a", "student_b"),
    "courses": ("courses", "instructor_x", "instructor_y"),
    "course-catalog": ("course_catalog", "instructor_x", "instructor_y"),
    "course-modules": ("course_modules", "instructor_x", "instructor_y"),
    "media-repository": ("media_repository", "instructor_x", "instructor_y"),
    "quizzes": ("quizzes", "instructor_x", "instructor_y"),
    "enrollments": ("enrollments", "student_a", "student_b"),
    "progress-tracking": ("progress_tracking", "student_a", "student_b"),
    "payment-gateway": ("payment_gateway", "student_a", "student_b"),
    "certificates": ("certificates", "student_a", "student_b"),
    "quiz-attempts": ("quiz_attempts", "student_a", "student_b"),
    "course-reviews": ("course_reviews", "student_a", "student_b"),
    "notifications": ("notifications", "student_a", "student_b"),
    "notification-log": ("notification_log", "student_a", "student_b"),
    "analytics": ("analytics", "student_a", "student_b"),
    # The world has no audit entry; ``matrix_world`` adds one, made by the admin.
    "audit-log": ("audit_log", "admin", "admin"),
    "payment-events": ("payment_events", "admin", "admin"),
}

# -- the policy -------------------------------------------------------------------------------

OK, NO = 200, 403
ALL = "every row"


class Expected(NamedTuple):
    """Status of each page of a view for a role (export follows list, and a view is in the
    menu exactly when its list opens), and whose rows its list and export show."""

    list: int
    details: int
    create: int
    edit: int
    delete: int
    rows: str | frozenset[str]


NOTHING = Expected(NO, NO, NO, NO, NO, frozenset())
X_SIDE = frozenset({"instructor_x"})
X_LEARNERS = frozenset({"student_a"})

# The admin runs the platform: every view, every row. Catalog tables are written here
# (media is uploaded and deleted, never edited by hand: its URL names a stored file);
# workflow tables only through their own endpoints (read-only in the panel).
# fmt: off
ADMIN_POLICY: dict[str, Expected] = {
    #                              list details create edit delete  rows listed
    "users":             Expected(OK,  OK,     OK,    OK,  OK,     ALL),
    "user-accounts":     Expected(OK,  OK,     NO,    NO,  NO,     ALL),
    "courses":           Expected(OK,  OK,     OK,    OK,  OK,     ALL),
    "course-catalog":    Expected(OK,  OK,     OK,    OK,  OK,     ALL),
    "course-modules":    Expected(OK,  OK,     OK,    OK,  OK,     ALL),
    "media-repository":  Expected(OK,  OK,     OK,    NO,  OK,     ALL),
    "quizzes":           Expected(OK,  OK,     OK,    OK,  OK,     ALL),
    "enrollments":       Expected(OK,  OK,     NO,    NO,  NO,     ALL),
    "progress-tracking": Expected(OK,  OK,     NO,    NO,  NO,     ALL),
    "payment-gateway":   Expected(OK,  OK,     NO,    NO,  NO,     ALL),
    "certificates":      Expected(OK,  OK,     NO,    NO,  NO,     ALL),
    "quiz-attempts":     Expected(OK,  OK,     NO,    NO,  NO,     ALL),
    "course-reviews":    Expected(OK,  OK,     NO,    NO,  NO,     ALL),
    "notifications":     Expected(OK,  OK,     NO,    NO,  NO,     ALL),
    "notification-log":  Expected(OK,  OK,     NO,    NO,  NO,     ALL),
    "analytics":         Expected(OK,  OK,     NO,    NO,  NO,     ALL),
    "audit-log":         Expected(OK,  OK,     NO,    NO,  NO,     ALL),
    "payment-events":    Expected(OK,  OK,     NO,    NO,  NO,     ALL),
}

# An instructor (signed in as instructor_x) writes their own courses' content, reads their
# learners' records, and sees nothing else.
INSTRUCTOR_POLICY: dict[str, Expected] = {
    #                              list details create edit delete  rows listed
    "users":             NOTHING,
    "user-accounts":     NOTHING,
    "courses":           Expected(OK,  OK,     OK,    OK,  OK,     X_SIDE),
    "course-catalog":    Expected(OK,  OK,     NO,    OK,  NO,     X_SIDE),
    "course-modules":    Expected(OK,  OK,     OK,    OK,  OK,     X_SIDE),
    "media-repository":  Expected(OK,  OK,     OK,    NO,  OK,     X_SIDE),
    "quizzes":           Expected(OK,  OK,     OK,    OK,  OK,     X_SIDE),
    "enrollments":       Expected(OK,  OK,     NO,    NO,  NO,     X_LEARNERS),
    "progress-tracking": Expected(OK,  OK,     NO,    NO,  NO,     X_LEARNERS),
    "payment-gateway":   NOTHING,
    "certificates":      Expected(OK,  OK,     NO,    NO,  NO,     X_LEARNERS),
    "quiz-attempts":     Expected(OK,  OK,     NO,    NO,  NO,     X_LEARNERS),
    "course-reviews":    Expected(OK,  OK,     NO,    NO,  NO,     X_LEARNERS),
    "notifications":     NOTHING,
    "notification-log":  NOTHING,
    "analytics":         NOTHING,
    "audit-log":         NOTHING,
    "payment-events":    NOTHING,
}
# fmt: on

POLICY = {"admin": ADMIN_POLICY, "instructor": INSTRUCTOR_POLICY}
# Who signs in for a role, and whose row of a view they open, edit and delete: the admin
# works on Y's side, the instructor on their own (X's) side.
ACTORS = {"admin": "admin", "instructor": "instructor_x"}
SIDE = {"admin": "y", "instructor": "x"}

# The views whose rows belong to a course: X must never reach Y's rows there.
COURSE_VIEWS = [
    "courses",
    "course-catalog",
    "course-modules",
    "media-repository",
    "quizzes",
    "enrollments",
    "progress-tracking",
    "certificates",
    "quiz-attempts",
    "course-reviews",
]

# -- secrets the world holds, which no page may show ------------------------------------------

REFRESH_TOKEN = "refresh-ciphertext-5e1f"
CARD_BRAND = "visa-card-secret-7f3c"


class Secrets(NamedTuple):
    password_hash: str

    def assert_absent(self, page: Response) -> None:
        body = page.text
        for secret in (
            self.password_hash,
            "$argon2",
            "password_hash",
            "ciphertext",  # the world's access tokens
            REFRESH_TOKEN,
            "Access token",
            "access_token",
            "Refresh token",
            "refresh_token",
            CARD_BRAND,
            "Card details",
            "card_details",
        ):
            assert secret not in body, f"{page.request.url} shows {secret!r}"


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def matrix_world(panel_world: World, session: Session) -> World:
    """The panel world, with the secrets it lacks (a refresh token, card details)."""
    session.execute(update(UserAccount).values(refresh_token=REFRESH_TOKEN))
    # What the column holds (a sealed summary): never shown, whatever it is.
    session.execute(update(Payment).values(card_details=CARD_BRAND))
    session.commit()
    return panel_world


@pytest.fixture
def secrets(panel_password_hash: str) -> Secrets:
    return Secrets(password_hash=panel_password_hash)


# -- reading pages ----------------------------------------------------------------------------


def menu(page: Response) -> set[str]:
    """The views the page's menu links to."""
    nav = page.text.split('id="navbar-menu"', 1)[1].split("</nav>", 1)[0]
    return set(re.findall(r'href="[^"]*/admin/([a-z-]+)/list"', nav))


def listed(page: Response) -> set[int]:
    """The primary keys of the rows a list page shows."""
    body = page.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return {int(pk) for pk in re.findall(r'<input type="hidden" value="(\d+)">', body)}


def exported(page: Response, table: str) -> set[int]:
    (key,) = Base.metadata.tables[table].primary_key.columns
    return {int(row[key.name]) for row in csv.DictReader(io.StringIO(page.text))}


def options(page: Response, field: str) -> set[str]:
    """The values a form's drop-down offers (the empty choice included)."""
    match = re.search(rf'<select[^>]*name="{field}"[^>]*>(.*?)</select>', page.text, re.S)
    assert match is not None, f"no {field} drop-down on {page.request.url}"
    return set(re.findall(r'<option[^>]*value="([^"]*)"', match.group(1)))


# -- the database -----------------------------------------------------------------------------


def snapshot(session: Session, table_name: str, pk: int) -> dict[str, Any] | None:
    table = Base.metadata.tables[table_name]
    (key,) = table.primary_key.columns
    row = session.execute(select(table).where(key == pk)).mappings().one_or_none()
    session.rollback()  # end the read: the panel writes through its own connections
    return dict(row) if row is not None else None


def every_pk(session: Session, table_name: str) -> set[int]:
    table = Base.metadata.tables[table_name]
    (key,) = table.primary_key.columns
    pks = set(session.scalars(select(key)))
    session.rollback()
    return pks


def row_of(world: World, identity: str, side: str) -> int:
    """The world's row of a view on instructor_x's side ("x") or instructor_y's ("y")."""
    table, x_side, y_side = TABLES[identity]
    return world.rows[table][x_side if side == "x" else y_side]


def owned(world: World, table: str, owners: frozenset[str]) -> set[int]:
    return {world.rows[table][owner] for owner in owners}


# Whatever a forged edit posts: a title and a few workflow fields.
FORGED = {
    "title": "Forged",
    "status": "completed",
    "progress": "100",
    "is_active": "y",
    "media_url": "https://evil.example.com/x.png",
}


# -- the matrix -------------------------------------------------------------------------------

MATRIX = [
    pytest.param(identity, role, id=f"{identity}-as-{role}")
    for role in ("admin", "instructor")
    for identity in TABLES
]


def expected_pages(expected: Expected) -> dict[str, int | bool]:
    """What each page answers, as the policy says (a refused page refuses a post too)."""
    pages: dict[str, int | bool] = {
        "in menu": expected.list == OK,
        "list": expected.list,
        "export csv": expected.list,
        "details": expected.details,
        "create": expected.create,
        "edit": expected.edit,
    }
    if expected.create == NO:
        pages["create (post)"] = NO
    if expected.edit == NO:
        pages["edit (post)"] = NO
    pages["delete"] = expected.delete
    return pages


def visit(client: TestClient, identity: str, pk: int, expected: Expected) -> dict[str, Response]:
    """Every page of a view, on one row; the delete last, as it may remove the row."""
    base = f"/admin/{identity}"
    pages = {
        "index": client.get("/admin/"),
        "list": client.get(f"{base}/list"),
        "export csv": client.get(f"{base}/export/csv"),
        "details": client.get(f"{base}/details/{pk}"),
        "create": client.get(f"{base}/create"),
        "edit": client.get(f"{base}/edit/{pk}"),
    }
    if expected.create == NO:
        pages["create (post)"] = client.post(f"{base}/create", data=FORGED)
    if expected.edit == NO:
        pages["edit (post)"] = client.post(f"{base}/edit/{pk}", data=FORGED)
    # No relationship is ever looked up by ajax: drop-downs are built for each user.
    for name in ("course", "user"):
        pages[f"ajax {name}"] = client.get(
            f"{base}/ajax/lookup", params={"name": name, "term": "o"}
        )
    pages["delete"] = client.delete(f"{base}/delete", params={"pks": pk})
    return pages


class TestViewMatrix:
    @pytest.mark.parametrize(("identity", "role"), MATRIX)
    def test_pages_follow_the_policy(
        self,
        identity: str,
        role: str,
        sign_in: SignIn,
        matrix_world: World,
        session: Session,
        secrets: Secrets,
    ) -> None:
        expected = POLICY[role][identity]
        table = TABLES[identity][0]
        pk = row_of(matrix_world, identity, SIDE[role])
        before = snapshot(session, table, pk)
        rows = (
            every_pk(session, table)
            if expected.rows == ALL
            else owned(matrix_world, table, frozenset(expected.rows))
        )

        pages = visit(sign_in(ACTORS[role]), identity, pk, expected)

        for page in pages.values():
            secrets.assert_absent(page)
        assert pages["ajax course"].status_code in {400, 403}
        assert pages["ajax user"].status_code in {400, 403}
        after = snapshot(session, table, pk)
        if expected.delete == NO:
            assert after == before  # refused edits and deletes changed nothing
        else:  # the row is gone, or the answer says why not (rows still referenced)
            assert after is None or "error=" in pages["delete"].text
        if expected.list == OK and pages["list"].status_code == OK:
            assert listed(pages["list"]) == rows
            assert exported(pages["export csv"], table) == rows
            create_button = f'href="http://testserver/admin/{identity}/create"'
            assert (create_button in pages["list"].text) is (expected.create == OK)
        # Last, so that one wrong answer does not hide the checks above.
        wanted = expected_pages(expected)
        answered: dict[str, int | bool] = {
            name: pages[name].status_code for name in wanted if name != "in menu"
        }
        answered["in menu"] = identity in menu(pages["index"])
        assert answered == wanted


class TestMenu:
    @pytest.mark.parametrize(
        ("role", "views"),
        [
            pytest.param("admin", set(TABLES), id="admin"),
            pytest.param(
                "instructor",
                {
                    "courses",
                    "course-catalog",
                    "course-modules",
                    "media-repository",
                    "quizzes",
                    "enrollments",
                    "progress-tracking",
                    "certificates",
                    "quiz-attempts",
                    "course-reviews",
                },
                id="instructor",
            ),
        ],
    )
    def test_lists_exactly_the_views_of_the_role(
        self, role: str, views: set[str], sign_in: SignIn
    ) -> None:
        assert menu(sign_in(ACTORS[role]).get("/admin/")) == views


class TestSignedOut:
    @pytest.mark.parametrize("identity", list(TABLES))
    def test_every_list_redirects_to_the_sign_in_page(
        self, identity: str, panel_app: FastAPI
    ) -> None:
        # Not entered as a context manager: that would run the shared app's lifespan again.
        with closing(TestClient(panel_app, follow_redirects=False)) as client:
            page = client.get(f"/admin/{identity}/list")
        assert page.status_code == 302
        assert page.headers["location"].endswith("/admin/login")


class TestAnotherInstructorsRows:
    """instructor_x on instructor_y's rows, and on student B's (who learns from Y)."""

    @pytest.mark.parametrize("identity", COURSE_VIEWS)
    def test_are_neither_shown_nor_changed(
        self,
        identity: str,
        sign_in: SignIn,
        matrix_world: World,
        session: Session,
        secrets: Secrets,
    ) -> None:
        table = TABLES[identity][0]
        theirs = row_of(matrix_world, identity, "y")
        before = snapshot(session, table, theirs)
        client = sign_in("instructor_x")
        base = f"/admin/{identity}"

        assert client.get(f"{base}/details/{theirs}").status_code == NO
        assert client.get(f"{base}/edit/{theirs}").status_code == NO
        assert client.post(f"{base}/edit/{theirs}", data=FORGED).status_code == NO
        assert client.delete(f"{base}/delete", params={"pks": theirs}).status_code == NO
        assert snapshot(session, table, theirs) == before

        page = client.get(f"{base}/list")
        export = client.get(f"{base}/export/csv")
        assert (page.status_code, export.status_code) == (OK, OK)
        ours = row_of(matrix_world, identity, "x")
        assert ours in listed(page)
        assert theirs not in listed(page)
        assert ours in exported(export, table)
        assert theirs not in exported(export, table)


class TestDropDowns:
    @pytest.mark.parametrize("identity", ["course-modules", "media-repository", "quizzes"])
    def test_an_instructor_picks_among_their_own_courses(
        self, identity: str, sign_in: SignIn, matrix_world: World
    ) -> None:
        form = sign_in("instructor_x").get(f"/admin/{identity}/create")
        assert form.status_code == OK
        own = matrix_world.rows["courses"]["instructor_x"]
        assert options(form, "course_id") == {"", str(own)}

    def test_an_instructors_course_has_no_instructor_field(self, sign_in: SignIn) -> None:
        form = sign_in("instructor_x").get("/admin/courses/create")
        assert form.status_code == OK
        assert 'name="instructor_id"' not in form.text

    def test_the_admin_picks_a_course_instructor_among_those_who_may_teach(
        self, sign_in: SignIn, matrix_world: World
    ) -> None:
        # Instructors and admins may own a course (services.catalog.check_instructor);
        # students may not.
        form = sign_in("admin").get("/admin/courses/create")
        assert form.status_code == OK
        teachers = {
            str(matrix_world.users[who]) for who in ("instructor_x", "instructor_y", "admin")
        }
        assert options(form, "instructor_id") == {""} | teachers

    def test_a_forged_course_creates_no_module(
        self, sign_in: SignIn, matrix_world: World, session: Session
    ) -> None:
        modules = every_pk(session, "course_modules")
        theirs = matrix_world.rows["courses"]["instructor_y"]
        page = sign_in("instructor_x").post(
            "/admin/course-modules/create",
            data={"course_id": str(theirs), "title": "Forged", "position": "9", "duration": "0"},
        )
        assert page.status_code == 400
        assert "Not a valid choice" in page.text
        assert every_pk(session, "course_modules") == modules
