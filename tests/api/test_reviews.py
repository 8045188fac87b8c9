"""Course reviews over HTTP: PUT and DELETE /api/courses/{courseId}/review (the caller's
one review), GET /api/courses/{courseId}/reviews (public, paged), the rating the catalog
shows, every refusal in the envelope, and the panel's Hide and Show actions (admins only)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.passwords import hash_password
from models import (
    AuditEntry,
    Course,
    CourseCatalog,
    CourseReview,
    EnrollmentStatus,
    Role,
    User,
)
from models.reviews import COMMENT_MAX
from tests.api.helpers import TIMESTAMP, assert_error, data, invalid_fields
from tests.models.factories import make_course, make_enrollment, make_user
from tests.world import token_for

PANEL_PASSWORD = "panel-password-123"
NOT_ENROLLED = "Only learners enrolled in this course can review it"


def auth(session: Session, user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(session, user.user_id)}"}


def learner_of(session: Session, course: Course, **values: Any) -> User:
    learner = make_user(session, **values)
    make_enrollment(session, learner, course)
    session.commit()
    return learner


def put(client: TestClient, session: Session, user: User, course_id: int | str, body: Any) -> Any:
    return client.put(f"/api/courses/{course_id}/review", json=body, headers=auth(session, user))


def stored_rating(session: Session, course: Course) -> Any:
    session.expire_all()
    return session.scalar(select(Course.rating).where(Course.course_id == course.course_id))


@pytest.fixture
def course(session: Session) -> Course:
    course = make_course(session)
    session.commit()
    return course


class TestPutReview:
    def test_creates_the_callers_review(
        self, client: TestClient, session: Session, course: Course
    ) -> None:
        learner = learner_of(session, course)

        saved = data(put(client, session, learner, course.course_id, {"rating": 4}), 201)

        assert saved == {
            "reviewId": saved["reviewId"],
            "courseId": course.course_id,
            "rating": 4,
            "comment": None,
            "courseRating": 4.0,
            "message": "Review saved",
        }
        [row] = session.scalars(select(CourseReview)).all()
        assert (row.review_id, row.user_id) == (saved["reviewId"], learner.user_id)

    def test_putting_again_edits_it(
        self, client: TestClient, session: Session, course: Course
    ) -> None:
        learner = learner_of(session, course)
        first = data(put(client, session, learner, course.course_id, {"rating": 2}), 201)

        edited = data(
            put(client, session, learner, course.course_id, {"rating": 5, "comment": " Great "}),
            200,
        )

        assert edited["reviewId"] == first["reviewId"]
        assert (edited["rating"], edited["comment"], edited["courseRating"]) == (5, "Great", 5.0)
        assert len(session.scalars(select(CourseReview)).all()) == 1

    def test_the_course_rating_is_the_average(
        self, client: TestClient, session: Session, course: Course
    ) -> None:
        for stars in (5, 4):
            data(
                put(
                    client,
                    session,
                    learner_of(session, course),
                    course.course_id,
                    {"rating": stars},
                ),
                201,
            )
        last = data(
            put(client, session, learner_of(session, course), course.course_id, {"rating": 4}), 201
        )
        assert last["courseRating"] == 4.33
        listed = data(client.get("/api/courses/catalog/list"))["courses"]
        assert [c["rating"] for c in listed if c["courseId"] == course.course_id] == [4.33]

    def test_needs_a_signed_in_caller(self, client: TestClient, course: Course) -> None:
        answer = client.put(f"/api/courses/{course.course_id}/review", json={"rating": 5})
        assert_error(answer, 401, "Authentication required")

    def test_refuses_a_caller_not_enrolled(
        self, client: TestClient, session: Session, course: Course
    ) -> None:
        stranger = make_user(session)
        session.commit()
        answer = put(client, session, stranger, course.course_id, {"rating": 5})
        assert_error(answer, 403, NOT_ENROLLED)

    def test_refuses_a_dropped_enrollment(
        self, client: TestClient, session: Session, course: Course
    ) -> None:
        learner = make_user(session)
        make_enrollment(session, learner, course, status=EnrollmentStatus.DROPPED)
        session.commit()
        answer = put(client, session, learner, course.course_id, {"rating": 5})
        assert_error(answer, 403, NOT_ENROLLED)
        assert session.scalars(select(CourseReview)).all() == []

    def test_an_unknown_course_is_not_found(self, client: TestClient, session: Session) -> None:
        learner = make_user(session)
        session.commit()
        answer = put(client, session, learner, 2_000_000, {"rating": 5})
        assert_error(answer, 404, "Course not found")

    @pytest.mark.parametrize(
        "body",
        [
            {"rating": 0},
            {"rating": 6},
            {"rating": -1},
            {"rating": 2.5},
            {"rating": 5.0},
            {"rating": "5"},
            {"rating": True},
            {"rating": None},
            {"rating": [5]},
            {"rating": 2**40},
            {"comment": "No stars"},
        ],
    )
    def test_a_rating_is_a_whole_number_of_stars_from_1_to_5(
        self, client: TestClient, session: Session, course: Course, body: dict[str, Any]
    ) -> None:
        learner = learner_of(session, course)
        assert invalid_fields(put(client, session, learner, course.course_id, body)) == ["rating"]
        assert session.scalars(select(CourseReview)).all() == []

    @pytest.mark.parametrize("comment", ["x" * (COMMENT_MAX + 1), 5, ["text"], {"a": 1}])
    def test_a_comment_is_text_of_at_most_2000_characters(
        self, client: TestClient, session: Session, course: Course, comment: Any
    ) -> None:
        learner = learner_of(session, course)
        answer = put(client, session, learner, course.course_id, {"rating": 3, "comment": comment})
        assert invalid_fields(answer) == ["comment"]

    def test_blanks_around_a_comment_do_not_count_against_its_length(
        self, client: TestClient, session: Session, course: Course
    ) -> None:
        learner = learner_of(session, course)
        longest = "x" * COMMENT_MAX
        body = {"rating": 3, "comment": f"\n  {longest}  \n"}
        saved = data(put(client, session, learner, course.course_id, body), 201)
        assert saved["comment"] == longest

    def test_a_blank_comment_is_no_comment(
        self, client: TestClient, session: Session, course: Course
    ) -> None:
        learner = learner_of(session, course)
        saved = data(
            put(client, session, learner, course.course_id, {"rating": 3, "comment": "   "}), 201
        )
        assert saved["comment"] is None

    def test_an_unknown_field_is_refused(
        self, client: TestClient, session: Session, course: Course
    ) -> None:
        learner = learner_of(session, course)
        body = {"rating": 3, "hidden": False}
        assert invalid_fields(put(client, session, learner, course.course_id, body)) == ["hidden"]

    @pytest.mark.parametrize("course_id", ["abc", "0", "-1", str(2**31), "1.5"])
    def test_a_bad_course_id_is_refused(
        self, client: TestClient, session: Session, course: Course, course_id: str
    ) -> None:
        learner = learner_of(session, course)
        answer = put(client, session, learner, course_id, {"rating": 3})
        assert invalid_fields(answer) == ["courseId"]

    @pytest.mark.parametrize("raw", [b"", b"{", b"[5]", b"5", b'"text"'])
    def test_a_body_that_is_not_a_review_is_refused(
        self, client: TestClient, session: Session, course: Course, raw: bytes
    ) -> None:
        learner = learner_of(session, course)
        answer = client.put(
            f"/api/courses/{course.course_id}/review",
            content=raw,
            headers=auth(session, learner) | {"Content-Type": "application/json"},
        )
        assert_error(answer, 400, "Invalid input data")


class TestDeleteReview:
    def test_removes_the_callers_review(
        self, client: TestClient, session: Session, course: Course
    ) -> None:
        keeper, leaver = learner_of(session, course), learner_of(session, course)
        data(put(client, session, keeper, course.course_id, {"rating": 5}), 201)
        data(put(client, session, leaver, course.course_id, {"rating": 1}), 201)

        answer = client.delete(
            f"/api/courses/{course.course_id}/review", headers=auth(session, leaver)
        )

        assert data(answer) == {"courseRating": 5.0, "message": "Review deleted"}
        assert [row.user_id for row in session.scalars(select(CourseReview))] == [keeper.user_id]
        assert stored_rating(session, course) == 5

    def test_no_review_is_not_found(
        self, client: TestClient, session: Session, course: Course
    ) -> None:
        learner = learner_of(session, course)
        answer = client.delete(
            f"/api/courses/{course.course_id}/review", headers=auth(session, learner)
        )
        assert_error(answer, 404, "Review not found")

    def test_needs_a_signed_in_caller(self, client: TestClient, course: Course) -> None:
        assert_error(
            client.delete(f"/api/courses/{course.course_id}/review"), 401, "Authentication required"
        )

    def test_a_bad_course_id_is_refused(
        self, client: TestClient, session: Session, course: Course
    ) -> None:
        learner = learner_of(session, course)
        answer = client.delete("/api/courses/abc/review", headers=auth(session, learner))
        assert invalid_fields(answer) == ["courseId"]


def reviewed(client: TestClient, session: Session, course: Course, *stars: int) -> list[int]:
    """Reviews of the course by new learners (named Learner 1, 2, ...); their ids."""
    ids = []
    for n, rating in enumerate(stars, start=1):
        learner = learner_of(session, course, name=f"Learner {n}")
        ids.append(data(put(client, session, learner, course.course_id, {"rating": rating}), 201))
    return [saved["reviewId"] for saved in ids]


class TestListReviews:
    def test_is_public_newest_first_with_the_reviewers_names(
        self, client: TestClient, session: Session, course: Course
    ) -> None:
        ids = reviewed(client, session, course, 3, 5)

        page = data(client.get(f"/api/courses/{course.course_id}/reviews"))

        assert [
            (item["reviewId"], item["reviewerName"], item["rating"]) for item in page["reviews"]
        ] == [(ids[1], "Learner 2", 5), (ids[0], "Learner 1", 3)]
        assert (page["total"], page["limit"], page["offset"], page["rating"]) == (2, 20, 0, 4.0)
        item = page["reviews"][0]
        assert set(item) == {
            "reviewId",
            "rating",
            "comment",
            "reviewerName",
            "createdAt",
            "updatedAt",
        }
        assert TIMESTAMP.match(item["createdAt"])
        assert TIMESTAMP.match(item["updatedAt"])

    def test_pages(self, client: TestClient, session: Session, course: Course) -> None:
        reviewed(client, session, course, 1, 2, 3, 4, 5)
        url = f"/api/courses/{course.course_id}/reviews"
        first = data(client.get(url, params={"limit": 2}))
        last = data(client.get(url, params={"limit": 2, "offset": 4}))
        assert [item["rating"] for item in first["reviews"]] == [5, 4]
        assert [item["rating"] for item in last["reviews"]] == [1]
        assert (first["total"], last["total"], last["limit"], last["offset"]) == (5, 5, 2, 4)

    def test_a_page_is_at_most_the_largest_size(
        self, client: TestClient, session: Session, course: Course
    ) -> None:
        page = data(client.get(f"/api/courses/{course.course_id}/reviews", params={"limit": 10**6}))
        assert page["limit"] == 100

    def test_hidden_reviews_are_left_out(
        self, client: TestClient, session: Session, course: Course
    ) -> None:
        ids = reviewed(client, session, course, 5, 1)
        session.execute(
            update(CourseReview).where(CourseReview.review_id == ids[1]).values(hidden=True)
        )
        session.commit()
        page = data(client.get(f"/api/courses/{course.course_id}/reviews"))
        assert [item["reviewId"] for item in page["reviews"]] == [ids[0]]
        assert page["total"] == 1

    def test_an_unpublished_course_is_not_found(
        self, client: TestClient, session: Session, course: Course
    ) -> None:
        reviewed(client, session, course, 4)
        session.execute(
            update(CourseCatalog)
            .where(CourseCatalog.course_id == course.course_id)
            .values(is_active=False)
        )
        session.commit()
        answer = client.get(f"/api/courses/{course.course_id}/reviews")
        assert_error(answer, 404, "Course not found")

    def test_an_unknown_course_is_not_found(self, client: TestClient) -> None:
        assert_error(client.get("/api/courses/2000000/reviews"), 404, "Course not found")

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"limit": 0}, "limit"),
            ({"limit": "abc"}, "limit"),
            ({"offset": -1}, "offset"),
            ({"offset": 2**31}, "offset"),
            ({"offset": "x"}, "offset"),
        ],
    )
    def test_bad_paging_is_refused(
        self, client: TestClient, course: Course, params: dict[str, Any], field: str
    ) -> None:
        answer = client.get(f"/api/courses/{course.course_id}/reviews", params=params)
        assert invalid_fields(answer) == [field]

    def test_a_bad_course_id_is_refused(self, client: TestClient) -> None:
        assert invalid_fields(client.get("/api/courses/abc/reviews")) == ["courseId"]


# -- the panel: admins moderate -------------------------------------------------------------


@pytest.fixture(scope="module")
def panel_password_hash() -> str:
    return hash_password(PANEL_PASSWORD)  # once: Argon2 is slow on purpose


def sign_in_to_panel(client: TestClient, session: Session, user: User, password_hash: str) -> None:
    session.execute(
        update(User).where(User.user_id == user.user_id).values(password_hash=password_hash)
    )
    session.commit()
    client.cookies.clear()
    answer = client.post(
        "/admin/login",
        data={"username": user.email, "password": PANEL_PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 302, answer.text


def run_action(client: TestClient, name: str, *review_ids: int) -> Any:
    pks = ",".join(str(review_id) for review_id in review_ids)
    return client.get(
        f"/admin/course-reviews/action/{name}?pks={pks}",
        headers={"referer": f"{client.base_url}/admin/course-reviews/list"},
        follow_redirects=False,
    )


class TestPanelModeration:
    def test_an_admin_hides_and_shows_reviews_and_the_rating_follows(
        self, client: TestClient, session: Session, course: Course, panel_password_hash: str
    ) -> None:
        keep, spam = reviewed(client, session, course, 5, 1)
        admin = make_user(session, role=Role.ADMIN)
        sign_in_to_panel(client, session, admin, panel_password_hash)
        listing = client.get("/admin/course-reviews/list")
        assert listing.status_code == 200
        assert "action-customconfirm-hide" in listing.text
        assert "action-customconfirm-show" in listing.text

        hidden = run_action(client, "hide", spam)

        assert hidden.status_code == 302
        assert "error" not in hidden.headers["location"]
        assert stored_rating(session, course) == 5
        page = data(client.get(f"/api/courses/{course.course_id}/reviews"))
        assert [item["reviewId"] for item in page["reviews"]] == [keep]

        shown = run_action(client, "show", spam)

        assert "error" not in shown.headers["location"]
        assert stored_rating(session, course) == 3
        entries = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.table_name == "course_reviews")
            .order_by(AuditEntry.audit_id)
        ).all()
        assert [(e.action, e.row_id, e.user_id) for e in entries] == [
            ("hide", str(spam), admin.user_id),
            ("show", str(spam), admin.user_id),
        ]

    def test_an_unknown_review_is_refused_in_words(
        self, client: TestClient, session: Session, panel_password_hash: str
    ) -> None:
        admin = make_user(session, role=Role.ADMIN)
        sign_in_to_panel(client, session, admin, panel_password_hash)
        answer = run_action(client, "hide", 2_000_000)
        assert "Review not found" in unquote_plus(answer.headers["location"])

    def test_an_instructor_is_not_offered_the_actions(
        self, client: TestClient, session: Session, course: Course, panel_password_hash: str
    ) -> None:
        [review_id] = reviewed(client, session, course, 1)
        instructor = session.get(User, course.instructor_id)
        assert instructor is not None
        sign_in_to_panel(client, session, instructor, panel_password_hash)
        listing = client.get("/admin/course-reviews/list")
        assert listing.status_code == 200  # their course's reviews, to read
        assert "action-customconfirm-hide" not in listing.text

        answer = run_action(client, "hide", review_id)

        assert answer.status_code in (403, 404)
        session.expire_all()
        assert session.get(CourseReview, review_id).hidden is False  # type: ignore[union-attr]
        assert stored_rating(session, course) == 1
