"""Course reviews: who may review (a learner whose enrollment is not dropped), one review
per enrollment (posting again edits it), the course's rating (the average of the visible
reviews, to 2 decimals, NULL when there is none) kept in the same transaction, moderation,
the public listing, and the average under concurrent reviewers on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.database import sync_session_factory, unit_of_work
from core.errors import InvalidInput
from core.events import EventType
from models import (
    Analytics,
    Course,
    CourseCatalog,
    CourseReview,
    Enrollment,
    EnrollmentStatus,
    User,
)
from models.reviews import COMMENT_MAX
from services.access import CourseNotFound
from services.reviews import (
    NotEnrolled,
    ReviewNotFound,
    delete_own_review,
    post_review,
    reviews_page,
    set_hidden,
)
from tests.models.factories import make_course, make_enrollment, make_user

T = TypeVar("T")


@pytest.fixture
def session(db: Session) -> Session:
    """Most tests talk to the database through this one session only: each runs in a
    transaction rolled back afterwards (``db`` in tests/conftest.py). The races below use
    ``engine`` and sessions of their own."""
    return db


def learner_in(session: Session, course: Course, **values: Any) -> User:
    learner = make_user(session, **values)
    make_enrollment(session, learner, course)
    return learner


def rating_of(session: Session, course: Course) -> Decimal | None:
    session.expire_all()
    rating: Decimal | None = session.scalar(
        select(Course.rating).where(Course.course_id == course.course_id)
    )
    return rating


def reviews_of(session: Session, course: Course) -> list[CourseReview]:
    return list(
        session.scalars(select(CourseReview).where(CourseReview.course_id == course.course_id))
    )


def average(ratings: list[int]) -> Decimal:
    """The expected rating: half-way values round up, as PostgreSQL's and SQLite's round()."""
    return (Decimal(sum(ratings)) / len(ratings)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def review(session: Session, course: Course, rating: int, comment: str | None = None) -> User:
    """A new learner of the course who reviewed it."""
    learner = learner_in(session, course)
    post_review(
        session, learner=learner, course_id=course.course_id, rating=rating, comment=comment
    )
    return learner


class TestPostReview:
    def test_an_enrolled_learner_creates_their_review(self, session: Session) -> None:
        course = make_course(session)
        learner = learner_in(session, course)

        saved, created = post_review(
            session, learner=learner, course_id=course.course_id, rating=4, comment="Clear."
        )

        assert created is True
        [row] = reviews_of(session, course)
        assert row.review_id == saved.review_id
        assert (row.user_id, row.rating, row.comment, row.hidden) == (
            learner.user_id,
            4,
            "Clear.",
            False,
        )
        enrollment_id = session.scalar(
            select(Enrollment.enrollment_id).where(Enrollment.user_id == learner.user_id)
        )
        assert row.enrollment_id == enrollment_id
        assert rating_of(session, course) == Decimal("4.00")

    def test_a_learner_who_completed_the_course_may_review_it(self, session: Session) -> None:
        course = make_course(session)
        learner = make_user(session)
        make_enrollment(session, learner, course, status=EnrollmentStatus.COMPLETED)
        _, created = post_review(
            session, learner=learner, course_id=course.course_id, rating=5, comment=None
        )
        assert created is True

    def test_posting_again_edits_the_one_review(self, session: Session) -> None:
        course = make_course(session)
        learner = learner_in(session, course)
        first, _ = post_review(
            session, learner=learner, course_id=course.course_id, rating=2, comment="Hard"
        )
        created_at, updated_at = first.created_at, first.updated_at

        again, created = post_review(
            session, learner=learner, course_id=course.course_id, rating=5, comment=None
        )

        assert created is False
        assert again.review_id == first.review_id
        [row] = reviews_of(session, course)
        assert (row.rating, row.comment) == (5, None)
        assert row.created_at == created_at
        assert row.updated_at > updated_at
        assert rating_of(session, course) == Decimal("5.00")

    def test_saving_the_same_review_again_still_marks_it_updated(self, session: Session) -> None:
        course = make_course(session)
        learner = learner_in(session, course)
        first, _ = post_review(
            session, learner=learner, course_id=course.course_id, rating=3, comment="Same"
        )
        before = first.updated_at
        again, _ = post_review(
            session, learner=learner, course_id=course.course_id, rating=3, comment="Same"
        )
        session.expire_all()
        assert session.get(CourseReview, again.review_id).updated_at > before  # type: ignore[union-attr]

    def test_a_hidden_review_stays_hidden_when_edited(self, session: Session) -> None:
        course = make_course(session)
        review(session, course, 4)
        learner = learner_in(session, course)
        saved, _ = post_review(
            session, learner=learner, course_id=course.course_id, rating=1, comment="Spam"
        )
        set_hidden(session, review_id=saved.review_id, hidden=True)

        edited, created = post_review(
            session, learner=learner, course_id=course.course_id, rating=1, comment="Spam again"
        )

        assert created is False
        assert edited.hidden is True
        assert rating_of(session, course) == Decimal("4.00")

    def test_a_dropped_enrollment_may_not_review(self, session: Session) -> None:
        course = make_course(session)
        learner = make_user(session)
        make_enrollment(session, learner, course, status=EnrollmentStatus.DROPPED)
        with pytest.raises(NotEnrolled) as refused:
            post_review(
                session, learner=learner, course_id=course.course_id, rating=5, comment=None
            )
        assert refused.value.status_code == 403
        assert refused.value.message == "Only learners enrolled in this course can review it"
        assert reviews_of(session, course) == []

    def test_a_learner_of_another_course_may_not_review(self, session: Session) -> None:
        course = make_course(session)
        learner = learner_in(session, make_course(session))
        with pytest.raises(NotEnrolled):
            post_review(
                session, learner=learner, course_id=course.course_id, rating=5, comment=None
            )

    def test_the_courses_instructor_is_not_a_learner_of_it(self, session: Session) -> None:
        course = make_course(session)
        instructor = session.get(User, course.instructor_id)
        assert instructor is not None
        with pytest.raises(NotEnrolled):
            post_review(
                session, learner=instructor, course_id=course.course_id, rating=5, comment=None
            )

    def test_an_unknown_course_is_not_found(self, session: Session) -> None:
        learner = make_user(session)
        with pytest.raises(CourseNotFound) as missing:
            post_review(session, learner=learner, course_id=2_000_000, rating=5, comment=None)
        assert (missing.value.status_code, missing.value.message) == (404, "Course not found")

    @pytest.mark.parametrize("rating", [0, 6, -1, 100])
    def test_ratings_are_whole_stars_from_1_to_5(self, session: Session, rating: int) -> None:
        course = make_course(session)
        learner = learner_in(session, course)
        with pytest.raises(InvalidInput) as refused:
            post_review(
                session, learner=learner, course_id=course.course_id, rating=rating, comment=None
            )
        assert refused.value.field == "rating"
        assert reviews_of(session, course) == []

    def test_true_is_not_a_rating(self, session: Session) -> None:
        course = make_course(session)
        learner = learner_in(session, course)
        with pytest.raises(InvalidInput):
            post_review(
                session, learner=learner, course_id=course.course_id, rating=True, comment=None
            )

    @pytest.mark.parametrize(
        ("given", "stored"),
        [("  Great course \n", "Great course"), ("   \n\t", None), ("", None), (None, None)],
    )
    def test_comments_are_stored_without_surrounding_blanks(
        self, session: Session, given: str | None, stored: str | None
    ) -> None:
        course = make_course(session)
        learner = learner_in(session, course)
        saved, _ = post_review(
            session, learner=learner, course_id=course.course_id, rating=3, comment=given
        )
        assert saved.comment == stored

    def test_a_comment_may_be_2000_characters_and_no_more(self, session: Session) -> None:
        course = make_course(session)
        learner = learner_in(session, course)
        longest = "x" * COMMENT_MAX
        saved, _ = post_review(
            session, learner=learner, course_id=course.course_id, rating=3, comment=f" {longest} "
        )
        assert saved.comment == longest
        with pytest.raises(InvalidInput) as refused:
            post_review(
                session,
                learner=learner,
                course_id=course.course_id,
                rating=3,
                comment=longest + "x",
            )
        assert refused.value.field == "comment"

    def test_each_post_is_recorded_for_analytics(self, session: Session) -> None:
        course = make_course(session)
        learner = learner_in(session, course)
        saved, _ = post_review(
            session, learner=learner, course_id=course.course_id, rating=2, comment=None
        )
        post_review(session, learner=learner, course_id=course.course_id, rating=4, comment=None)

        rows = session.scalars(
            select(Analytics)
            .where(Analytics.event_type == EventType.REVIEW_POSTED.value)
            .order_by(Analytics.analytic_id)
        ).all()
        assert [(row.user_id, row.course_id, row.event_data) for row in rows] == [
            (
                learner.user_id,
                course.course_id,
                {"reviewId": saved.review_id, "rating": 2, "edited": False},
            ),
            (
                learner.user_id,
                course.course_id,
                {"reviewId": saved.review_id, "rating": 4, "edited": True},
            ),
        ]


class TestTheCoursesRating:
    def test_no_review_no_rating(self, session: Session) -> None:
        assert rating_of(session, make_course(session)) is None

    def test_is_the_average_to_two_decimals(self, session: Session) -> None:
        course = make_course(session)
        for stars in (5, 4, 4):
            review(session, course, stars)
        assert rating_of(session, course) == Decimal("4.33")

    def test_half_way_averages_round_up(self, session: Session) -> None:
        # 29 / 8 = 3.625: both databases round it to 3.63.
        course = make_course(session)
        ratings = [5, 5, 4, 4, 4, 3, 3, 1]
        for stars in ratings:
            review(session, course, stars)
        assert rating_of(session, course) == average(ratings) == Decimal("3.63")

    def test_counts_only_visible_reviews(self, session: Session) -> None:
        course = make_course(session)
        review(session, course, 5)
        review(session, course, 4)
        spam = learner_in(session, course)
        saved, _ = post_review(
            session, learner=spam, course_id=course.course_id, rating=1, comment="Buy now"
        )
        assert rating_of(session, course) == Decimal("3.33")

        set_hidden(session, review_id=saved.review_id, hidden=True)
        assert rating_of(session, course) == Decimal("4.50")

        set_hidden(session, review_id=saved.review_id, hidden=False)
        assert rating_of(session, course) == Decimal("3.33")

    def test_is_null_again_when_every_review_is_hidden(self, session: Session) -> None:
        course = make_course(session)
        learner = learner_in(session, course)
        saved, _ = post_review(
            session, learner=learner, course_id=course.course_id, rating=2, comment=None
        )
        set_hidden(session, review_id=saved.review_id, hidden=True)
        assert rating_of(session, course) is None

    def test_other_courses_keep_their_rating(self, session: Session) -> None:
        course, other = make_course(session), make_course(session)
        review(session, other, 2)
        review(session, course, 5)
        assert rating_of(session, other) == Decimal("2.00")

    def test_an_edit_moves_the_average(self, session: Session) -> None:
        course = make_course(session)
        review(session, course, 5)
        learner = learner_in(session, course)
        post_review(session, learner=learner, course_id=course.course_id, rating=1, comment=None)
        assert rating_of(session, course) == Decimal("3.00")
        post_review(session, learner=learner, course_id=course.course_id, rating=4, comment=None)
        assert rating_of(session, course) == Decimal("4.50")


class TestDeleteOwnReview:
    def test_removes_it_and_recomputes_the_rating(self, session: Session) -> None:
        course = make_course(session)
        review(session, course, 5)
        learner = review(session, course, 2)

        rating = delete_own_review(session, learner=learner, course_id=course.course_id)

        assert rating == Decimal("5.00") == rating_of(session, course)
        assert [row.rating for row in reviews_of(session, course)] == [5]

    def test_the_last_review_gone_leaves_no_rating(self, session: Session) -> None:
        course = make_course(session)
        learner = review(session, course, 3)
        assert delete_own_review(session, learner=learner, course_id=course.course_id) is None
        assert rating_of(session, course) is None

    def test_without_a_review_there_is_nothing_to_delete(self, session: Session) -> None:
        course = make_course(session)
        review(session, course, 4)
        other = learner_in(session, course)
        with pytest.raises(ReviewNotFound) as missing:
            delete_own_review(session, learner=other, course_id=course.course_id)
        assert (missing.value.status_code, missing.value.message) == (404, "Review not found")
        assert len(reviews_of(session, course)) == 1

    def test_a_review_may_be_written_again_after_deleting_it(self, session: Session) -> None:
        course = make_course(session)
        learner = review(session, course, 3)
        delete_own_review(session, learner=learner, course_id=course.course_id)
        _, created = post_review(
            session, learner=learner, course_id=course.course_id, rating=4, comment=None
        )
        assert created is True
        assert rating_of(session, course) == Decimal("4.00")


class TestSetHidden:
    def test_an_unknown_review_is_not_found(self, session: Session) -> None:
        with pytest.raises(ReviewNotFound):
            set_hidden(session, review_id=2_000_000, hidden=True)

    def test_hiding_twice_changes_nothing_more(self, session: Session) -> None:
        course = make_course(session)
        review(session, course, 5)
        learner = learner_in(session, course)
        saved, _ = post_review(
            session, learner=learner, course_id=course.course_id, rating=1, comment=None
        )
        for _ in range(2):
            hidden = set_hidden(session, review_id=saved.review_id, hidden=True)
            assert hidden.hidden is True
        assert rating_of(session, course) == Decimal("5.00")


@contextmanager
def statements(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", count)


class TestReviewsPage:
    def test_lists_visible_reviews_newest_first_with_the_reviewers_names(
        self, session: Session
    ) -> None:
        course = make_course(session)
        names = ["Ada", "Grace", "Linus"]
        start = utcnow() - timedelta(days=3)
        for day, name in enumerate(names):
            learner = learner_in(session, course, name=name)
            saved, _ = post_review(
                session, learner=learner, course_id=course.course_id, rating=day + 3, comment=name
            )
            saved.created_at = start + timedelta(days=day)
        hidden_one = review(session, course, 1)
        [hidden] = [row for row in reviews_of(session, course) if row.user_id == hidden_one.user_id]
        set_hidden(session, review_id=hidden.review_id, hidden=True)

        page = reviews_page(session, course_id=course.course_id, limit=10, offset=0)

        assert [(item.reviewer_name, item.rating, item.comment) for item in page.reviews] == [
            ("Linus", 5, "Linus"),
            ("Grace", 4, "Grace"),
            ("Ada", 3, "Ada"),
        ]
        assert page.total == 3
        assert page.rating == Decimal("4.00")

    def test_pages(self, session: Session) -> None:
        course = make_course(session)
        for stars in (1, 2, 3, 4, 5):
            review(session, course, stars)
        pages = [
            reviews_page(session, course_id=course.course_id, limit=2, offset=offset)
            for offset in (0, 2, 4, 10)
        ]
        assert [len(page.reviews) for page in pages] == [2, 2, 1, 0]
        assert {page.total for page in pages} == {5}
        seen = [item.review_id for page in pages for item in page.reviews]
        assert len(set(seen)) == 5

    def test_a_course_without_reviews_has_an_empty_page(self, session: Session) -> None:
        course = make_course(session)
        page = reviews_page(session, course_id=course.course_id, limit=10, offset=0)
        assert (list(page.reviews), page.total, page.rating) == ([], 0, None)

    def test_takes_the_same_statements_whatever_the_page_size(self, session: Session) -> None:
        course = make_course(session)
        review(session, course, 5)
        with statements(session) as one:
            reviews_page(session, course_id=course.course_id, limit=10, offset=0)
        for stars in (1, 2, 3, 4):
            review(session, course, stars)
        with statements(session) as five:
            reviews_page(session, course_id=course.course_id, limit=10, offset=0)
        assert len(one) == len(five) == 3

    def test_an_unpublished_course_is_not_found(self, session: Session) -> None:
        course = make_course(session)
        review(session, course, 5)
        entry = session.scalars(
            select(CourseCatalog).where(CourseCatalog.course_id == course.course_id)
        ).one()
        entry.is_active = False
        session.flush()
        with pytest.raises(CourseNotFound):
            reviews_page(session, course_id=course.course_id, limit=10, offset=0)

    def test_a_course_without_a_catalog_entry_is_not_found(self, session: Session) -> None:
        course = make_course(session)
        entry = session.scalars(
            select(CourseCatalog).where(CourseCatalog.course_id == course.course_id)
        ).one()
        session.delete(entry)
        session.flush()
        with pytest.raises(CourseNotFound):
            reviews_page(session, course_id=course.course_id, limit=10, offset=0)

    def test_an_unknown_course_is_not_found(self, session: Session) -> None:
        with pytest.raises(CourseNotFound):
            reviews_page(session, course_id=2_000_000, limit=10, offset=0)


# -- concurrency (PostgreSQL: its row locks are what is under test) -------------------------


def race(*workers: Callable[[], T]) -> list[T]:
    """Run the workers at the same moment, each in its own thread."""
    start = threading.Barrier(len(workers))

    def run(worker: Callable[[], T]) -> T:
        start.wait(timeout=10)
        return worker()

    with ThreadPoolExecutor(len(workers)) as pool:
        return list(pool.map(run, workers))


@pytest.fixture
def postgresql(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL's row locks and READ COMMITTED under test")


@pytest.mark.usefixtures("postgresql")
class TestConcurrentReviews:
    """Each worker is one request: its own session and transaction, committed at the end."""

    def poster(
        self, engine: Engine, learner_id: int, course_id: int, rating: int
    ) -> Callable[[], bool]:
        factory = sync_session_factory(engine)

        def post() -> bool:
            with unit_of_work(factory) as session:
                learner = session.get(User, learner_id)
                assert learner is not None
                _, created = post_review(
                    session, learner=learner, course_id=course_id, rating=rating, comment=None
                )
                return created

        return post

    def test_ten_learners_at_once_give_the_exact_average(self, engine: Engine) -> None:
        ratings = [5, 4, 4, 3, 5, 2, 1, 5, 4, 3]
        with Session(engine) as setup:
            course = make_course(setup)
            learners = [learner_in(setup, course).user_id for _ in ratings]
            setup.commit()
            course_id = course.course_id

        created = race(
            *(
                self.poster(engine, learner_id, course_id, stars)
                for learner_id, stars in zip(learners, ratings, strict=True)
            )
        )

        assert created == [True] * len(ratings)
        with Session(engine) as check:
            stored = check.scalar(select(Course.rating).where(Course.course_id == course_id))
            rows = check.scalars(
                select(CourseReview.rating).where(CourseReview.course_id == course_id)
            ).all()
        assert sorted(rows) == sorted(ratings)
        assert stored == average(ratings) == Decimal("3.60")

    def test_a_learners_two_first_posts_at_once_make_one_review(self, engine: Engine) -> None:
        with Session(engine) as setup:
            course = make_course(setup)
            learner_id = learner_in(setup, course).user_id
            setup.commit()
            course_id = course.course_id

        created = race(
            self.poster(engine, learner_id, course_id, 2),
            self.poster(engine, learner_id, course_id, 4),
        )

        assert sorted(created) == [False, True]
        with Session(engine) as check:
            [row] = check.scalars(
                select(CourseReview).where(CourseReview.course_id == course_id)
            ).all()
            stored = check.scalar(select(Course.rating).where(Course.course_id == course_id))
        assert stored == Decimal(row.rating)

    def test_hiding_while_others_review_keeps_the_average_exact(self, engine: Engine) -> None:
        ratings = [5, 5, 4, 4, 3, 3]
        with Session(engine) as setup:
            course = make_course(setup)
            spammer = learner_in(setup, course)
            post_review(setup, learner=spammer, course_id=course.course_id, rating=1, comment="x")
            learners = [learner_in(setup, course).user_id for _ in ratings]
            setup.commit()
            course_id = course.course_id
            spam_id = setup.scalars(
                select(CourseReview.review_id).where(CourseReview.user_id == spammer.user_id)
            ).one()

        def hide() -> bool:
            with unit_of_work(sync_session_factory(engine)) as session:
                set_hidden(session, review_id=spam_id, hidden=True)
            return True

        race(
            hide,
            *(
                self.poster(engine, learner_id, course_id, stars)
                for learner_id, stars in zip(learners, ratings, strict=True)
            ),
        )

        with Session(engine) as check:
            stored = check.scalar(select(Course.rating).where(Course.course_id == course_id))
        assert stored == average(ratings)
