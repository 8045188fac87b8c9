"""The delivery log of a notification: a pending entry from the moment the notification
exists, filled in by its first attempt; a retry adds the next; the sweep still tells a
notification nobody ever tried from one whose failure awaits its queued retry."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from api.app import create_app
from core.database import sync_session_factory, unit_of_work
from core.events import EventType
from core.settings import Settings
from jobs.notifications import sweep
from jobs.runtime import Jobs
from models import (
    DeliveryStatus,
    Notification,
    NotificationLog,
    NotificationStatus,
    NotificationType,
    OutboxEvent,
    User,
)
from services.delivery import backlog, claim, deliver_notification, fan_out, start_attempt
from services.notifications import notify, request_notification, set_preferences
from services.outbox import mark_processed
from tests.api.helpers import assert_error, data
from tests.fakes.smtp import SmtpServer
from tests.models.factories import make_user
from tests.world import token_for

EMAIL = NotificationType.EMAIL


def auth(user: User) -> dict[str, str]:
    session = object_session(user)
    assert session is not None
    return {"Authorization": f"Bearer {token_for(session, user.user_id)}"}


def log_of(client: TestClient, user: User) -> list[dict[str, object]]:
    response = client.get(f"/api/notifications/log?userId={user.user_id}", headers=auth(user))
    logs: list[dict[str, object]] = data(response)["logs"]
    return logs


def entries(session: Session, notification_id: int) -> list[tuple[DeliveryStatus, int]]:
    session.expire_all()  # what other units of work committed, not this session's copies
    rows = session.scalars(
        select(NotificationLog)
        .where(NotificationLog.notification_id == notification_id)
        .order_by(NotificationLog.log_id)
    )
    return [(row.delivery_status, row.attempt) for row in rows]


@contextmanager
def queueless(jobs: Jobs) -> Iterator[Session]:
    """A unit of work with no queue: nothing it asks for after its commit reaches a worker
    (the queue was down), so only the sweep can hand it over."""
    with unit_of_work(sync_session_factory(jobs.engine)) as unit:
        yield unit


@pytest.fixture
def learner(session: Session) -> User:
    user = make_user(session, email="lea@example.com", name="Lea")
    session.commit()
    return user


@pytest.fixture
def queued_client(auth_settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    """The app with a queue of its own that no worker consumes yet: what a request hands
    over waits there until the test works it off (``work_off``)."""
    jobs = auth_settings.jobs.model_copy(
        update={"immediate": False, "sqlite_path": tmp_path / "queue.db"}
    )
    with TestClient(create_app(auth_settings.model_copy(update={"jobs": jobs}))) as client:
        yield client


def work_off(client: TestClient) -> int:
    """Be the worker: run what the app's queue holds, and what that queues, until empty."""
    huey = client.app.state.lms.jobs.huey  # type: ignore[attr-defined]
    ran = 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        ran += 1
    return ran


def made_by_the_worker(jobs: Jobs, user: User) -> list[int]:
    """An event the worker processed whose notifications never reached the queue."""
    with queueless(jobs) as unit:
        event = notify(
            unit, EventType.COURSE_REMINDER, user_id=user.user_id, subject="Hi", message="Back?"
        )
        assert event is not None
        made = fan_out(unit, event, push_enabled=False)
        mark_processed(unit, event.event_id)
    return made


class TestTheLogOfASentNotification:
    def test_is_pending_at_once_then_one_sent_entry(
        self, queued_client: TestClient, smtp_server: SmtpServer, learner: User
    ) -> None:
        assert_error(
            queued_client.get("/api/notifications/log", headers=auth(learner)),
            404,
            "No logs found",
        )
        sent = data(
            queued_client.post(
                "/api/notifications/send",
                headers=auth(learner),
                json={"userId": learner.user_id, "type": "email", "message": "Soon"},
            ),
            201,
        )
        [pending] = log_of(queued_client, learner)
        assert pending["notificationId"] == sent["notificationId"]
        assert pending["deliveryStatus"] == "pending"
        assert pending["deliveredAt"] is None
        assert smtp_server.mailbox.messages == []

        assert work_off(queued_client) == 2  # the event, then the notification it names
        [message] = smtp_server.mailbox.wait_for(1)
        assert message["To"] == "lea@example.com"
        [entry] = log_of(queued_client, learner)
        assert entry["logId"] == pending["logId"]  # the same entry, filled in
        assert entry["deliveryStatus"] == "sent"
        assert isinstance(entry["deliveredAt"], str)

    def test_a_failed_first_attempt_and_its_retry_are_two_entries(
        self,
        jobs_inline: Jobs,
        auth_client: TestClient,
        smtp_server: SmtpServer,
        learner: User,
        session: Session,
    ) -> None:
        with queueless(jobs_inline) as unit:
            sender = unit.get(User, learner.user_id)
            assert sender is not None
            notification_id = request_notification(
                unit,
                sender=sender,
                user_id=learner.user_id,
                channel=EMAIL,
                message="Twice?",
                push_enabled=False,
            ).notification_id
        settings = jobs_inline.settings
        smtp_server.stop()
        first = deliver_notification(jobs_inline.units, notification_id, settings)
        assert first is not None
        assert first.error is not None
        assert first.retry_in is not None
        smtp_server.start()
        second = deliver_notification(jobs_inline.units, notification_id, settings)
        assert second is not None
        assert (second.attempt, second.error) == (2, None)
        assert len(smtp_server.mailbox.wait_for(1)) == 1
        assert entries(session, notification_id) == [
            (DeliveryStatus.FAILED, 1),
            (DeliveryStatus.SENT, 2),
        ]
        logs = log_of(auth_client, learner)
        assert [entry["deliveryStatus"] for entry in logs] == ["failed", "sent"]


class TestTheSweep:
    def test_hands_over_a_notification_nobody_tried_and_its_entry_is_the_attempt(
        self, jobs_inline: Jobs, smtp_server: SmtpServer, learner: User, session: Session
    ) -> None:
        set_preferences(session, learner.user_id, in_app=False)
        session.commit()
        [notification_id] = made_by_the_worker(jobs_inline, learner)
        assert entries(session, notification_id) == [(DeliveryStatus.PENDING, 1)]
        found = backlog(session, grace=timedelta(0))
        assert (found.events, found.notifications) == ([], [notification_id])
        assert sweep(jobs_inline) == 1
        assert smtp_server.mailbox.wait_for(1)[0]["Subject"] == "Hi"
        assert entries(session, notification_id) == [(DeliveryStatus.SENT, 1)]
        assert sweep(jobs_inline) == 0

    def test_leaves_a_failure_whose_retry_is_queued(
        self, jobs_inline: Jobs, smtp_server: SmtpServer, learner: User, session: Session
    ) -> None:
        set_preferences(session, learner.user_id, in_app=False)
        session.commit()
        [notification_id] = made_by_the_worker(jobs_inline, learner)
        smtp_server.stop()
        outcome = deliver_notification(jobs_inline.units, notification_id, jobs_inline.settings)
        assert outcome is not None
        assert outcome.retry_in is not None  # the queue has it, later
        session.expire_all()
        notification = session.get(Notification, notification_id)
        assert notification is not None
        assert (notification.status, notification.claimed_until) == (
            NotificationStatus.PENDING,
            None,
        )
        assert entries(session, notification_id) == [(DeliveryStatus.FAILED, 1)]
        assert backlog(session, grace=timedelta(0)).notifications == []
        assert sweep(jobs_inline) == 0

    def test_a_first_attempt_a_dead_worker_left_stays_pending_and_counts(
        self, jobs_inline: Jobs, smtp_server: SmtpServer, learner: User, session: Session
    ) -> None:
        """Whether the dead worker's attempt reached the user is unknown: its entry is kept
        as it was, and the attempt that takes over is the second."""
        set_preferences(session, learner.user_id, in_app=False)
        session.commit()
        [notification_id] = made_by_the_worker(jobs_inline, learner)
        with queueless(jobs_inline) as unit:
            # A lease already over: the worker died mid-send, long ago.
            claimed = claim(unit, notification_id, lease=-timedelta(minutes=1))
            assert claimed is not None
            assert claimed.free
            start_attempt(unit, claimed)
        assert entries(session, notification_id) == [(DeliveryStatus.PENDING, 1)]
        assert backlog(session, grace=timedelta(0)).notifications == [notification_id]
        assert sweep(jobs_inline) == 1
        assert len(smtp_server.mailbox.wait_for(1)) == 1
        assert entries(session, notification_id) == [
            (DeliveryStatus.PENDING, 1),
            (DeliveryStatus.SENT, 2),
        ]


class TestFanOut:
    def test_each_notification_has_its_pending_entry_in_the_same_transaction(
        self, learner: User, session: Session
    ) -> None:
        event = notify(
            session, EventType.COURSE_REMINDER, user_id=learner.user_id, subject="S", message="M"
        )
        assert event is not None
        session.commit()
        made = fan_out(session, event, push_enabled=False)
        assert len(made) == 2  # email and in-app, the defaults
        for notification_id in made:
            assert entries(session, notification_id) == [(DeliveryStatus.PENDING, 1)]
        session.rollback()
        assert session.scalar(select(func.count()).select_from(Notification)) == 0
        assert session.scalar(select(func.count()).select_from(NotificationLog)) == 0
        assert session.scalar(select(func.count()).select_from(OutboxEvent)) == 1

    def test_running_it_again_adds_no_second_entry(self, learner: User, session: Session) -> None:
        event = notify(
            session, EventType.COURSE_REMINDER, user_id=learner.user_id, subject="S", message="M"
        )
        assert event is not None
        first = fan_out(session, event, push_enabled=False)
        assert fan_out(session, event, push_enabled=False) == first
        session.commit()
        assert session.scalar(select(func.count()).select_from(NotificationLog)) == len(first)
