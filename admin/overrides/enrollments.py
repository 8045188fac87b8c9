"""Enrollments in the panel: who learns what, and how far they are, by name; an admin drops
an enrollment through ``services.enrollments.drop``, the function the API's drop calls.

The learner's and the course's names come with the rows (joined into the page's query); the
progress of the whole page is one more query (``services.progress.course_progress``), made
once the page's rows are known and read by the column's formatter. A list page costs three
statements of its own (count, rows, progress) whatever its size.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal
from typing import Any, ClassVar

from markupsafe import Markup
from sqladmin import action
from sqladmin.pagination import Pagination
from sqlalchemy import Select
from sqlalchemy.orm import Session, joinedload
from starlette.requests import Request
from starlette.responses import Response

from admin.overrides.actions import ADMINS, ActionsView
from core.clock import utcnow
from models import Course, Enrollment, User
from services.enrollments import drop as drop_enrollment
from services.progress import course_progress

# Columns that are not the table's: shown instead of (the list) or beside (the details) the
# ids they stand for. Not the relationships' own names: sqladmin would render those as links to
# views named after the models ("/admin/user/..."), which are not the panel's.
LEARNER, COURSE, PROGRESS = "learner", "course_title", "overall_progress"
LABELS: dict[Any, str] = {
    LEARNER: "Learner",
    COURSE: "Course",
    PROGRESS: "Progress",
    "user_id": "Learner ID",
    "payment_id": "Payment ID",
}


def _learner(enrollment: Enrollment, _name: str) -> Markup:
    user = enrollment.user
    return Markup('{}<div class="text-secondary small">{}</div>').format(user.name, user.email)


def _course(enrollment: Enrollment, _name: str) -> str:
    return enrollment.course.title


def _course_wrapped(enrollment: Enrollment, _name: str) -> Markup:
    # The list's cells never wrap: a long title would push the progress off a laptop's
    # screen. Wrapped to the height of the learner's cell (name and email) instead.
    return Markup(
        '<div class="text-wrap" style="min-width: 10rem; max-width: 14rem">{}</div>'
    ).format(enrollment.course.title)


def _percent(enrollment: Enrollment, request: Request) -> int | None:
    """The percentage computed for the page (``EnrollmentView.list``), cut, never rounded
    up: a learner at 99.6% has not finished."""
    fraction = getattr(request.state, "course_progress", {}).get(enrollment.enrollment_id)
    if fraction is None:
        return None
    return int((Decimal(str(fraction)) * 100).quantize(Decimal(1), rounding=ROUND_DOWN))


def _progress(enrollment: Enrollment, _name: str, request: Request) -> Markup:
    percent = _percent(enrollment, request)
    if percent is None:
        return Markup("—")
    return Markup(
        '{}%<div class="progress progress-sm mt-1" style="width: 4rem" role="progressbar" '
        'aria-label="Progress" aria-valuenow="{}" aria-valuemin="0" aria-valuemax="100">'
        '<div class="progress-bar" style="width: {}%"></div></div>'
    ).format(percent, percent, percent)


def _progress_text(enrollment: Enrollment, _name: str, request: Request) -> str:
    percent = _percent(enrollment, request)
    return "—" if percent is None else f"{percent}%"


def _listed(columns: Sequence[Any]) -> builtins.list[Any]:
    """Who, what, how far and in which state first (they fit a laptop's width), then the
    other generated columns; the ids the names stand for are on the details page."""
    first = [
        *(column for column in ("enrollment_id",) if column in columns),
        LEARNER,
        COURSE,
        PROGRESS,
        *(column for column in ("status",) if column in columns),
    ]
    return first + [column for column in columns if column not in (*first, "user_id", "course_id")]


def _detailed(columns: Sequence[Any]) -> builtins.list[Any]:
    """The generated columns, each name just before the id it stands for, and the progress
    after the course."""
    named: builtins.list[Any] = []
    for column in columns:
        if column == "user_id":
            named += [LEARNER, column]
        elif column == "course_id":
            named += [COURSE, column, PROGRESS]
        else:
            named.append(column)
    return named


class EnrollmentView(ActionsView):
    action_roles: ClassVar = {"drop": ADMINS}
    column_formatters: ClassVar = {LEARNER: _learner, COURSE: _course_wrapped, PROGRESS: _progress}
    column_formatters_detail: ClassVar = {
        LEARNER: _learner,
        COURSE: _course,
        PROGRESS: _progress_text,
    }

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # ``view_for`` builds the generated view as a subclass, its columns from the
        # declaration: here they get the names.
        super().__init_subclass__(**kwargs)
        cls.column_list = _listed(cls.column_list)
        cls.column_details_list = _detailed(cls.column_details_list)
        cls.column_labels = {**cls.column_labels, **LABELS}

    # -- reading: names joined in, progress for the whole page at once ---------------------

    def list_query(self, request: Request) -> Select[Any]:
        return super().list_query(request).options(*_names())

    def details_query(self, request: Request) -> Select[Any]:
        return super().details_query(request).options(*_names())

    async def list(self, request: Request) -> Pagination:
        page = await super().list(request)
        ids = [row.enrollment_id for row in page.rows]
        request.state.course_progress = await self._course_progress(ids)
        return page

    async def details_context(self, request: Request) -> dict[str, Any]:
        # Called once the row was found within the user's reach: its pk is a valid id.
        ids = [int(request.path_params["pk"])]
        request.state.course_progress = await self._course_progress(ids)
        return await super().details_context(request)

    async def _course_progress(self, ids: builtins.list[int]) -> dict[int, float]:
        async with self.sessions() as session:
            return await session.run_sync(lambda sync: course_progress(sync, ids))

    # -- dropping ------------------------------------------------------------------------

    @action(
        name="drop",
        label="Drop",
        confirmation_message="Drop the selected enrollments? The learners leave their courses "
        "and get no more reminders; their progress is kept should they come back.",
    )
    async def drop(self, request: Request) -> Response:
        def work(session: Session, user: User, enrollment_id: int) -> None:
            drop_enrollment(session, actor=user, enrollment_id=enrollment_id, now=utcnow())

        return await self.run_action(request, "drop", work)


def _names() -> tuple[Any, ...]:
    # Many-to-one and never null: joined into the page's own query, no statement of their
    # own; only what the page shows (no password hash travels with a learner's name).
    return (
        joinedload(Enrollment.user, innerjoin=True).load_only(User.name, User.email),
        joinedload(Enrollment.course, innerjoin=True).load_only(Course.title),
    )
