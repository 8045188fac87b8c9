"""Delivery through a real Huey consumer on the real Redis: email over a real SMTP server,
retries when it is down, nothing lost or doubled when the queue is unreachable."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.app import create_app
from core.tasks import TaskName
from jobs.notifications import sweep
from jobs.runtime import Jobs
from jobs.tasks import build_jobs
from models import (
    DeliveryStatus,
    Notification,
    NotificationLog,
    NotificationStatus,
    NotificationType,
    OutboxEvent,
    Role,
)
from services.enrollments import enrollment_created
from tests.conftest import free_port
from tests.fakes.smtp import SmtpServer, bodies
from tests.models.factories import make_course, make_enrollment, make_user
from tests.world import token_for

pytestmark = pytest.mark.slow


def eventually(check: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def fresh(session: Session) -> Session:
    session.expire_all()
    return session


@pytest.fixture
def client(worker: Jobs) -> Iterator[TestClient]:
    with TestClient(create_app(worker.settings)) as test_client:
        yield test_client


def test_an_email_notification_arrives_with_both_bodies(
    client: TestClient, smtp_server: SmtpServer, session: Session
) -> None:
    learner = make_user(session, email="ada@example.com", name="Ada Obi")
    session.commit()
    response = client.post(
        "/api/notifications/send",
        json={"userId": learner.user_id, "type": "email", "message": "Your cohort starts Monday."},
        headers={"Authorization": f"Bearer {token_for(session, learner.user_id)}"},
    )
    assert response.status_code == 201
    assert response.json()["data"]["message"] == "Notification sent successfully"
    [message] = smtp_server.mailbox.wait_for(1, timeout=20)
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "A message for you"
    text, html = bodies(message)
    assert "Hello Ada Obi" in text
    assert "Your cohort starts Monday." in text
    assert "<p>Your cohort starts Monday.</p>" in html
    notification_id = response.json()["data"]["notificationId"]
    eventually(
        lambda: (
            fresh(session).get(Notification, notification_id).status  # type: ignore[union-attr]
            is NotificationStatus.SENT
        )
    )
    logs = client.get(
        f"/api/notifications/log?userId={learner.user_id}",
        headers={"Authorization": f"Bearer {token_for(session, learner.user_id)}"},
    )
    [entry] = logs.json()["data"]["logs"]
    assert entry["deliveryStatus"] == "sent"
    assert entry["deliveredAt"].endswith("Z")


def test_an_smtp_outage_is_retried_logged_and_then_delivered_once(
    client: TestClient, smtp_server: SmtpServer, session: Session
) -> None:
    learner = make_user(session, email="bo@example.com")
    session.commit()
    smtp_server.stop()
    response = client.post(
        "/api/notifications/send",
        json={"userId": learner.user_id, "type": "email", "message": "Retry me"},
        headers={"Authorization": f"Bearer {token_for(session, learner.user_id)}"},
    )
    notification_id = response.json()["data"]["notificationId"]

    def failed_attempts() -> int:
        return int(
            fresh(session).scalar(
                select(func.count()).where(
                    NotificationLog.notification_id == notification_id,
                    NotificationLog.delivery_status == DeliveryStatus.FAILED,
                )
            )
            or 0
        )

    eventually(lambda: failed_attempts() >= 1)
    failure = session.scalars(
        select(NotificationLog).where(NotificationLog.delivery_status == DeliveryStatus.FAILED)
    ).first()
    assert failure is not None
    assert failure.error  # the reason is kept for the admins
    restarted = SmtpServer(smtp_server.port)
    restarted.start()
    try:
        [message] = restarted.mailbox.wait_for(1, timeout=30)
        assert message["To"] == "bo@example.com"
        eventually(
            lambda: (
                fresh(session).get(Notification, notification_id).status  # type: ignore[union-attr]
                is NotificationStatus.SENT
            )
        )
        statuses = [
            entry.delivery_status
            for entry in fresh(session).scalars(
                select(NotificationLog)
                .where(NotificationLog.notification_id == notification_id)
                .order_by(NotificationLog.attempt)
            )
        ]
        assert statuses[-1] is DeliveryStatus.SENT
        assert set(statuses[:-1]) == {DeliveryStatus.FAILED}
        time.sleep(1.5)  # no late duplicate
        assert len(restarted.mailbox.messages) == 1
    finally:
        restarted.stop()


def test_an_enrollment_made_while_the_queue_is_down_is_welcomed_exactly_once(
    worker: Jobs, smtp_server: SmtpServer, session: Session
) -> None:
    student = make_user(session, email="cy@example.com")
    course = make_course(
        session, instructor=make_user(session, role=Role.INSTRUCTOR), title="Queue Theory"
    )
    session.commit()
    enrollment = make_enrollment(session, student, course)
    session.commit()
    # The queue is unreachable while the learner enrolls: the hand-over after the commit
    # fails (logged), and the event waits in the outbox...
    unreachable = worker.settings.redis.model_copy(
        update={"url": f"redis://127.0.0.1:{free_port()}/0"}
    )
    down = build_jobs(worker.settings.model_copy(update={"redis": unreachable}))
    with down.unit_of_work() as unit:
        enrollment_created(unit, enrollment, base_url="https://app.example.com")
    down.close()
    event = session.scalars(select(OutboxEvent)).one()
    assert event.processed_at is None
    assert session.scalar(select(func.count()).select_from(Notification)) == 0

    # ...and comes back.
    assert sweep(worker) == 1
    [welcome] = smtp_server.mailbox.wait_for(1, timeout=20)
    assert welcome["Subject"] == "Welcome to Queue Theory"
    eventually(lambda: fresh(session).get(OutboxEvent, event.event_id).processed_at is not None)  # type: ignore[union-attr]
    # Sweeping again, or the event reaching the worker twice, changes nothing.
    assert sweep(worker) == 0
    worker.enqueue(TaskName.DELIVER_EVENT, event.event_id)
    time.sleep(2)
    assert len(smtp_server.mailbox.messages) == 1
    channels = (
        fresh(session)
        .scalars(select(Notification.type).where(Notification.user_id == student.user_id))
        .all()
    )
    assert sorted(channels) == sorted([NotificationType.EMAIL, NotificationType.IN_APP])


def test_the_worker_process_runs_on_redis_in_ci(worker: Jobs) -> None:
    assert worker.huey.storage.__class__.__name__ == "RedisStorage"
