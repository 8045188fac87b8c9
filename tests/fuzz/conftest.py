"""The fuzz run's platform: one app and one small world per database backend, for the whole
run (a world per generated case would cost more than the cases), and the rows and accounts
destructive operations are pointed at instead of the ones the run signs in with."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from fastapi import FastAPI
from schemathesis.python import asgi
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.types import Receive, Scope, Send

import models
from api.app import create_app
from core.database import sync_session_factory
from core.passwords import unusable_password_hash
from core.settings import Settings
from models import (
    Certificate,
    MediaType,
    Notification,
    NotificationType,
    ProgressTracking,
    Quiz,
    Role,
    User,
)
from models.media import MediaFile
from tests.conftest import oauth_settings
from tests.fakes.oauth_provider import ProviderServer
from tests.fakes.paystack import sandbox_server
from tests.models.factories import (
    make_course,
    make_enrollment,
    make_module,
    make_payment,
    make_user,
)
from tests.world import token_for

ACTORS = ("student", "instructor", "admin")


def _unique_user(session: Session, role: Role) -> User:
    # The run's admin creates users too (POST /api/data/users): names no factory would pick.
    tag = uuid.uuid4().hex[:12]
    # A hash of the platform's own kind (nobody knows a password for it), as an account made
    # without a password has: a password change then checks it like any other.
    return make_user(
        session,
        username=f"fuzz{tag}",
        email=f"fuzz{tag}@example.com",
        role=role,
        password_hash=unusable_password_hash(),
    )


def _course_with_content(session: Session, instructor: User) -> dict[str, int]:
    """A course of the instructor with a row of every catalog table in it: the ids by path."""
    course = make_course(session, instructor=instructor, title=f"Fuzz {uuid.uuid4().hex[:8]}")
    module = make_module(session, course)
    media = MediaFile(
        course_id=course.course_id,
        instructor_id=instructor.user_id,
        media_type=MediaType.IMAGE,
        media_url="https://cdn.example.com/fuzz.png",
        index=0,
    )
    quiz = Quiz(
        course_id=course.course_id,
        module_id=module.module_id,
        title="Fuzz quiz",
        questions=[{"question": "2+2?", "choices": ["3", "4"], "answer": 1}],
    )
    session.add_all([media, quiz])
    session.flush()
    entry = session.query(models.CourseCatalog).filter_by(course_id=course.course_id).one()
    return {
        "courses": course.course_id,
        "course-catalog": entry.catalog_id,
        "course-modules": module.module_id,
        "media-repository": media.media_id,
        "quizzes": quiz.quiz_id,
    }


def _student_history(session: Session, student: User, instructor: User) -> None:
    """The student learns in the instructor's course: one row of each learner table."""
    course = make_course(session, instructor=instructor)
    module = make_module(session, course)
    payment = make_payment(session, student, course)
    enrollment = make_enrollment(session, student, course, payment_id=payment.payment_id)
    session.add_all(
        [
            ProgressTracking(
                enrollment_id=enrollment.enrollment_id,
                module_id=module.module_id,
                progress=Decimal("50"),
            ),
            Certificate(
                user_id=student.user_id,
                course_id=course.course_id,
                unique_id=f"fuzz-{uuid.uuid4().hex[:12]}",
            ),
            Notification(user_id=student.user_id, type=NotificationType.IN_APP, message="hi"),
        ]
    )
    session.flush()


class WithoutLifespan:
    """The app as schemathesis reaches it. Its transport starts an app's lifespan at a
    test's first call and ends it after each test; ending ours closes the app (its HTTP
    client, queue, engines), which serves the whole run: its lifespan is ended once, at
    the end of the run (``close_app``)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def close_app(app: FastAPI) -> None:
    """End the app's lifespan on the event loop its requests ran on (schemathesis's)."""
    with asgi.get_client(app):
        pass
    asgi.shutdown_lifespans()


@dataclass
class FuzzPlatform:
    """The app under test and the accounts the run signs in with (which must survive it)."""

    app: WithoutLifespan
    engine: Engine
    users: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def _in_session(self, build: Callable[[Session], int]) -> int:
        with sync_session_factory(self.engine)() as session:
            row_id = build(session)
            session.commit()
            return row_id

    def check_accounts_survived(self) -> None:
        """The accounts the run signed in with are there, active, in their roles, and
        still signed in: destructive calls went to rows the run made for them."""
        with sync_session_factory(self.engine)() as session:
            for actor, user_id in self.users.items():
                user = session.get(User, user_id)
                assert user is not None, f"the run deleted its {actor}"
                assert user.is_active, f"the run deactivated its {actor}"
                assert user.role is Role(actor), f"the run changed its {actor}'s role"
        for actor in self.users:
            with asgi.get_client(self.app) as client:
                answer = client.get("/api/auth/user/profile", headers=self.headers(actor))
            assert answer.status_code == 200, f"the run's {actor} was signed out: {answer.text}"

    def headers(self, actor: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[actor]}"}

    def throwaway_headers(self, actor: str) -> dict[str, str]:
        """A new account of the actor's role, signed in: for calls that end sessions."""
        user_id = self._in_session(lambda s: _unique_user(s, Role(actor)).user_id)
        with sync_session_factory(self.engine)() as session:
            return {"Authorization": f"Bearer {token_for(session, user_id)}"}

    def fresh_row(self, resource: str) -> int:
        """A new row of the data API's resource, the instructor's where it has an owner."""
        if resource == "users":
            return self._in_session(lambda s: _unique_user(s, Role.STUDENT).user_id)
        instructor_id = self.users["instructor"]

        def build(session: Session) -> int:
            instructor = session.get_one(User, instructor_id)
            return _course_with_content(session, instructor)[resource]

        return self._in_session(build)


def _build_world(engine: Engine, app: FastAPI) -> FuzzPlatform:
    platform = FuzzPlatform(app=WithoutLifespan(app), engine=engine)
    with sync_session_factory(engine)() as session:
        people = {actor: _unique_user(session, Role(actor)) for actor in ACTORS}
        # A second admin: the run's admin is never the last one (which may not be demoted).
        _unique_user(session, Role.ADMIN)
        _course_with_content(session, people["instructor"])
        _student_history(session, people["student"], people["instructor"])
        session.commit()
        platform.users = {actor: user.user_id for actor, user in people.items()}
        platform.tokens = {actor: token_for(session, uid) for actor, uid in platform.users.items()}
    return platform


def _wipe(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(models.Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(scope="session")
def paystack_sandbox(shared_settings: Settings) -> Iterator[str]:
    """The offline Paystack on a loopback port, so payments the run makes reach a Paystack
    (a refused connection would be a 502). Its webhooks go nowhere: the run's payments
    settle by the card charge's answer or stay pending."""
    key = shared_settings.paystack.secret_key
    assert key is not None
    state = shared_settings.var_dir / "fuzz-sandbox.db"
    with sandbox_server(state, secret_key=key.get_secret_value()) as url:
        yield url


@pytest.fixture(scope="session")
def fuzz_settings(
    shared_settings: Settings, provider_server: ProviderServer, paystack_sandbox: str
) -> Settings:
    """The backend's test settings without rate limits (the run sends hundreds of requests
    a minute with one token), with the OAuth providers and Paystack on loopback. Mail and
    push only queue tasks, which nothing runs."""
    settings = shared_settings
    return settings.model_copy(
        update={
            "ratelimit": settings.ratelimit.model_copy(update={"enabled": False}),
            "oauth": type(settings.oauth)(**oauth_settings(provider_server.base_url)),
            "paystack": settings.paystack.model_copy(update={"base_url": paystack_sandbox}),
        }
    )


@pytest.fixture(scope="session")
def platform(migrated_engine: Engine, fuzz_settings: Settings) -> Iterator[FuzzPlatform]:
    app = create_app(fuzz_settings)
    platform = _build_world(migrated_engine, app)
    yield platform
    try:
        platform.check_accounts_survived()
    finally:
        close_app(app)
        _wipe(migrated_engine)
