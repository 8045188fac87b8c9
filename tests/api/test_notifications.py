"""The Notification Service: send and log (the seed's), the in-app inbox, preferences, web
push, and the platform's own events (welcome, receipts, certificates, reminders)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from api.app import create_app
from core.clock import utcnow
from core.database import sync_session_factory, unit_of_work
from core.settings import Settings
from jobs.notifications import send_reminders, sweep
from jobs.runtime import Jobs
from models import (
    Certificate,
    DeliveryStatus,
    EnrollmentStatus,
    Notification,
    NotificationLog,
    NotificationStatus,
    NotificationType,
    OutboxEvent,
    PaymentStatus,
    ProgressTracking,
    PushSubscription,
    Role,
    User,
)
from services.certificates import certificate_issued
from services.enrollments import enrollment_created
from services.notifications import resend, set_preferences
from services.payments import payment_settled
from tests.api.helpers import assert_error, data, invalid_fields
from tests.conftest import free_port
from tests.fakes.push_service import PushServer, browser_keys, vapid_keys
from tests.fakes.smtp import SmtpServer
from tests.models.factories import (
    make_course,
    make_enrollment,
    make_module,
    make_payment,
    make_user,
)
from tests.world import token_for


def auth(user: User) -> dict[str, str]:
    session = object_session(user)
    assert session is not None
    return {"Authorization": f"Bearer {token_for(session, user.user_id)}"}


@pytest.fixture
def people(session: Session) -> dict[str, User]:
    teacher = make_user(session, role=Role.INSTRUCTOR, email="t@example.com")
    learner = make_user(session, email="l@example.com", name="Lea")
    stranger = make_user(session, email="s@example.com")
    admin = make_user(session, role=Role.ADMIN, email="root@example.com")
    make_enrollment(session, learner, make_course(session, instructor=teacher))
    session.commit()
    return {"teacher": teacher, "learner": learner, "stranger": stranger, "admin": admin}


def send(
    client: TestClient, sender: User, to: User, kind: str = "in_app", text: str = "Hi"
) -> object:
    return client.post(
        "/api/notifications/send",
        headers=auth(sender),
        json={"userId": to.user_id, "type": kind, "message": text},
    )


class TestSend:
    @pytest.mark.parametrize(
        ("sender", "target", "status"),
        [
            ("admin", "stranger", 201),
            ("teacher", "learner", 201),
            ("teacher", "stranger", 403),
            ("learner", "learner", 201),
            ("learner", "stranger", 403),
        ],
    )
    def test_who_may_write_to_whom(
        self,
        auth_client: TestClient,
        people: dict[str, User],
        sender: str,
        target: str,
        status: int,
    ) -> None:
        response = send(auth_client, people[sender], people[target])
        assert response.status_code == status  # type: ignore[attr-defined]

    @pytest.mark.parametrize("sender", ["learner", "teacher"])
    def test_an_unknown_id_answers_like_someone_elses(
        self, auth_client: TestClient, people: dict[str, User], sender: str
    ) -> None:
        """Only an admin learns that an id is not an account: anyone else could enumerate."""
        answers = [
            auth_client.post(
                "/api/notifications/send",
                json={"userId": user_id, "type": "in_app", "message": "Hi"},
                headers=auth(people[sender]),
            )
            for user_id in (people["stranger"].user_id, 999_999)
        ]
        assert [answer.status_code for answer in answers] == [403, 403]
        assert answers[0].json()["error"] == answers[1].json()["error"]

    def test_bad_requests_are_400(self, auth_client: TestClient, people: dict[str, User]) -> None:
        admin = people["admin"]
        cases = [
            ({"userId": 999_999, "type": "email", "message": "x"}, "userId"),
            ({"userId": admin.user_id, "type": "sms", "message": "x"}, "type"),
            ({"userId": admin.user_id, "type": "email", "message": ""}, "message"),
            ({"userId": admin.user_id, "type": "push", "message": "x"}, "type"),
        ]
        for body, field in cases:
            response = auth_client.post("/api/notifications/send", json=body, headers=auth(admin))
            assert invalid_fields(response) == [field], body
        assert auth_client.post("/api/notifications/send", json=cases[0][0]).status_code == 401


class TestLog:
    def test_the_log_has_the_seeds_shape(
        self, auth_client: TestClient, people: dict[str, User]
    ) -> None:
        learner = people["learner"]
        data(send(auth_client, learner, learner), 201)
        logs = data(
            auth_client.get(
                f"/api/notifications/log?userId={learner.user_id}", headers=auth(learner)
            )
        )["logs"]
        assert len(logs) == 1
        assert set(logs[0]) == {"logId", "notificationId", "deliveryStatus", "deliveredAt"}
        assert logs[0]["deliveryStatus"] == "sent"

    def test_no_logs_and_other_peoples_logs_are_404(
        self, auth_client: TestClient, people: dict[str, User]
    ) -> None:
        learner, stranger, admin = people["learner"], people["stranger"], people["admin"]
        assert_error(
            auth_client.get("/api/notifications/log", headers=auth(stranger)), 404, "No logs found"
        )
        data(send(auth_client, learner, learner), 201)
        other = auth_client.get(
            f"/api/notifications/log?userId={learner.user_id}", headers=auth(stranger)
        )
        assert_error(other, 404, "No logs found")
        assert data(
            auth_client.get(f"/api/notifications/log?userId={learner.user_id}", headers=auth(admin))
        )["logs"]


class TestInbox:
    def test_unread_read_and_read_all(
        self, auth_client: TestClient, people: dict[str, User]
    ) -> None:
        learner, teacher = people["learner"], people["teacher"]
        for text in ("one", "two", "three"):
            data(send(auth_client, teacher, learner, text=text), 201)
        inbox = data(auth_client.get("/api/notifications", headers=auth(learner)))
        assert [item["message"] for item in inbox["items"]] == ["three", "two", "one"]
        assert data(auth_client.get("/api/notifications/unread-count", headers=auth(learner))) == {
            "count": 3
        }
        first = inbox["items"][0]["notificationId"]
        read = data(auth_client.post(f"/api/notifications/{first}/read", headers=auth(learner)))
        assert read["readAt"] is not None
        assert_error(
            auth_client.post(f"/api/notifications/{first}/read", headers=auth(teacher)),
            404,
            "Notification not found",
        )
        unread = data(auth_client.get("/api/notifications?unread=true", headers=auth(learner)))
        assert unread["total"] == 2
        assert data(auth_client.post("/api/notifications/read-all", headers=auth(learner))) == {
            "marked": 2
        }
        assert data(auth_client.get("/api/notifications/unread-count", headers=auth(learner))) == {
            "count": 0
        }


class TestEventsAndPreferences:
    def emit_and_deliver(
        self, session: Session, jobs: Jobs, emit: Callable[[Session], object]
    ) -> None:
        """Emit in a unit of work of the platform's own: its commit hands the events over."""
        session.commit()  # what the test set up, visible to that unit of work
        with jobs.unit_of_work() as unit:
            emit(unit)

    def test_a_welcome_goes_to_every_channel_the_user_wants(
        self, jobs_inline: Jobs, smtp_server: SmtpServer, session: Session, people: dict[str, User]
    ) -> None:
        learner = people["learner"]
        enrollment = make_enrollment(session, learner, make_course(session, title="Rust 101"))
        self.emit_and_deliver(
            session,
            jobs_inline,
            lambda unit: enrollment_created(unit, enrollment, base_url="https://app.example.com"),
        )
        [email] = smtp_server.mailbox.wait_for(1)
        assert email["Subject"] == "Welcome to Rust 101"
        kinds = session.scalars(
            select(Notification.type).where(Notification.user_id == learner.user_id)
        ).all()
        assert sorted(kinds) == sorted([NotificationType.EMAIL, NotificationType.IN_APP])

    def test_preferences_are_respected(
        self,
        jobs_inline: Jobs,
        smtp_server: SmtpServer,
        session: Session,
        people: dict[str, User],
        auth_client: TestClient,
    ) -> None:
        learner = people["learner"]
        changed = auth_client.put(
            "/api/notifications/preferences", json={"email": False}, headers=auth(learner)
        )
        assert data(changed) == {"email": False, "inApp": True, "push": True}
        enrollment = make_enrollment(session, learner, make_course(session, title="Go 101"))
        self.emit_and_deliver(
            session,
            jobs_inline,
            lambda unit: enrollment_created(unit, enrollment, base_url="https://app.example.com"),
        )
        kinds = session.scalars(
            select(Notification.type).where(Notification.user_id == learner.user_id)
        ).all()
        assert kinds == [NotificationType.IN_APP]
        assert smtp_server.mailbox.messages == []

    def test_receipts_and_certificates(
        self, jobs_inline: Jobs, smtp_server: SmtpServer, session: Session, people: dict[str, User]
    ) -> None:
        learner = people["learner"]
        set_preferences(session, learner.user_id, in_app=False)
        course = make_course(session, title="SQL", price=Decimal("49.99"))
        paid = make_payment(
            session,
            learner,
            course,
            transaction_id="tx_receipt",
            payment_status=PaymentStatus.SUCCESS,
        )
        failed = make_payment(
            session,
            learner,
            course,
            transaction_id="tx_declined",
            payment_status=PaymentStatus.FAILED,
        )
        certificate = Certificate(
            user_id=learner.user_id,
            course_id=course.course_id,
            unique_id="c-1",
            course_title="SQL",  # the notice names the course as certified
            certificate_url="https://x.example.com/c.pdf",
            verification_url="https://x.example.com/verify/c-1",
        )
        session.add(certificate)
        session.flush()

        def emit_all(unit: Session) -> None:
            payment_settled(unit, paid, base_url="https://app.example.com")
            payment_settled(unit, failed, base_url="https://app.example.com")
            certificate_issued(unit, certificate)

        self.emit_and_deliver(session, jobs_inline, emit_all)
        subjects = sorted(m["Subject"] for m in smtp_server.mailbox.wait_for(3))
        assert subjects == ["Payment failed: SQL", "Receipt: SQL", "Your certificate for SQL"]


class TestReminders:
    def test_idle_learners_are_nudged_once_per_period(
        self, jobs_inline: Jobs, smtp_server: SmtpServer, session: Session, people: dict[str, User]
    ) -> None:
        learner, stranger = people["learner"], people["stranger"]
        course = make_course(session, title="Idle Course")
        module = make_module(session, course)
        idle = make_enrollment(
            session, learner, course, enrollment_date=utcnow() - timedelta(days=30)
        )
        busy = make_enrollment(
            session, stranger, course, enrollment_date=utcnow() - timedelta(days=30)
        )
        session.add(
            ProgressTracking(
                enrollment_id=busy.enrollment_id,
                module_id=module.module_id,
                last_accessed=utcnow() - timedelta(hours=2),
            )
        )
        done = make_enrollment(
            session,
            people["admin"],
            course,
            status=EnrollmentStatus.COMPLETED,
            enrollment_date=utcnow() - timedelta(days=30),
        )
        session.commit()
        assert done.status is EnrollmentStatus.COMPLETED
        assert send_reminders(jobs_inline) == 1
        assert send_reminders(jobs_inline) == 0
        reminders = session.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == "course.reminder")
        ).all()
        assert [event.payload["user_id"] for event in reminders] == [idle.user_id]
        assert (
            smtp_server.mailbox.wait_for(1)[0]["Subject"]
            == "Pick up Idle Course where you left off"
        )


@pytest.fixture
def push_server() -> Iterator[PushServer]:
    server = PushServer(free_port())
    server.start()
    yield server
    server.stop()


class TestWebPush:
    @pytest.fixture
    def push_client(self, auth_settings: Settings) -> Iterator[tuple[TestClient, str]]:
        public, private = vapid_keys()
        webpush = auth_settings.webpush.model_copy(
            update={
                "vapid_public_key": public,
                "vapid_private_key": SecretStr(private),
                "allow_http_endpoints": True,  # the fake push service speaks plain http
            }
        )
        with TestClient(create_app(auth_settings.model_copy(update={"webpush": webpush}))) as c:
            yield c, public

    def test_only_https_push_services_are_accepted(
        self, auth_settings: Settings, people: dict[str, User]
    ) -> None:
        public, private = vapid_keys()
        webpush = auth_settings.webpush.model_copy(
            update={"vapid_public_key": public, "vapid_private_key": SecretStr(private)}
        )
        with TestClient(create_app(auth_settings.model_copy(update={"webpush": webpush}))) as c:
            p256dh, secret = browser_keys()
            response = c.post(
                "/api/notifications/push/subscriptions",
                headers=auth(people["learner"]),
                json={
                    "endpoint": "http://10.0.0.1/internal",
                    "keys": {"p256dh": p256dh, "auth": secret},
                },
            )
            assert invalid_fields(response) == ["endpoint"]

    def test_push_is_off_without_vapid_keys(
        self, auth_client: TestClient, people: dict[str, User]
    ) -> None:
        response = auth_client.get("/api/notifications/push/public-key")
        assert_error(response, 409, "Web push is not configured on this platform")

    def test_a_subscribed_browser_receives_pushes(
        self,
        push_client: tuple[TestClient, str],
        push_server: PushServer,
        people: dict[str, User],
        session: Session,
    ) -> None:
        client, public = push_client
        learner = people["learner"]
        assert data(client.get("/api/notifications/push/public-key")) == {"publicKey": public}
        p256dh, secret = browser_keys()
        for name in ("device-1", "gone"):
            data(
                client.post(
                    "/api/notifications/push/subscriptions",
                    headers=auth(learner),
                    json={
                        "endpoint": f"{push_server.base_url}/push/{name}",
                        "keys": {"p256dh": p256dh, "auth": secret},
                    },
                ),
                201,
            )
        data(send(client, people["teacher"], learner, kind="push", text="New lesson"), 201)
        [pushed] = push_server.service.received
        assert pushed.subscription == "device-1"
        assert pushed.authorization.startswith("vapid t=")
        assert pushed.encoding == "aes128gcm"
        assert b"New lesson" not in pushed.body  # end-to-end encrypted
        # The revoked subscription is forgotten.
        endpoints = session.scalars(select(PushSubscription.endpoint)).all()
        assert endpoints == [f"{push_server.base_url}/push/device-1"]
        removed = client.post(
            "/api/notifications/push/unsubscribe",
            headers=auth(learner),
            json={"endpoint": endpoints[0]},
        )
        assert data(removed)["message"] == "Unsubscribed from push"
        assert session.scalar(select(func.count()).select_from(PushSubscription)) == 0


class TestSweeper:
    def test_a_send_abandoned_by_a_dead_worker_is_handed_over_again(
        self, jobs_inline: Jobs, smtp_server: SmtpServer, session: Session, people: dict[str, User]
    ) -> None:
        learner = people["learner"]
        stuck = Notification(
            user_id=learner.user_id,
            type=NotificationType.EMAIL,
            message="stuck",
            subject="Stuck",
            claimed_until=utcnow() - timedelta(minutes=1),
            created_at=utcnow() - timedelta(minutes=10),
        )
        session.add(stuck)
        session.flush()
        session.add(NotificationLog(notification_id=stuck.notification_id))
        session.commit()
        assert sweep(jobs_inline) == 1
        assert smtp_server.mailbox.wait_for(1)[0]["Subject"] == "Stuck"
        assert sweep(jobs_inline) == 0

    def test_a_resend_that_never_reached_the_queue_is_handed_over(
        self, jobs_inline: Jobs, smtp_server: SmtpServer, session: Session, people: dict[str, User]
    ) -> None:
        failed = Notification(
            user_id=people["learner"].user_id,
            type=NotificationType.EMAIL,
            message="again",
            subject="Again",
            status=NotificationStatus.FAILED,
            created_at=utcnow() - timedelta(minutes=10),
        )
        session.add(failed)
        session.flush()
        session.add(
            NotificationLog(
                notification_id=failed.notification_id, delivery_status=DeliveryStatus.FAILED
            )
        )
        session.commit()
        # A unit of work with no queue: the hand-over after its commit cannot happen.
        with unit_of_work(sync_session_factory(jobs_inline.engine)) as unit:
            resend(unit, failed.notification_id)
        assert smtp_server.mailbox.messages == []
        assert sweep(jobs_inline) == 1
        assert smtp_server.mailbox.wait_for(1)[0]["Subject"] == "Again"
        assert sweep(jobs_inline) == 0


class TestGivingUp:
    @pytest.fixture
    def one_attempt_client(self, auth_settings: Settings) -> Iterator[TestClient]:
        notifications = auth_settings.notifications.model_copy(update={"max_attempts": 1})
        settings = auth_settings.model_copy(update={"notifications": notifications})
        with TestClient(create_app(settings)) as client:
            yield client

    def test_after_the_last_attempt_the_failure_stays_visible_to_admins(
        self, one_attempt_client: TestClient, smtp_server: SmtpServer, people: dict[str, User]
    ) -> None:
        auth_client = one_attempt_client
        smtp_server.stop()
        learner, admin = people["learner"], people["admin"]
        sent = data(send(auth_client, learner, learner, kind="email", text="lost?"), 201)
        logs = data(
            auth_client.get(f"/api/notifications/log?userId={learner.user_id}", headers=auth(admin))
        )["logs"]
        assert [entry["deliveryStatus"] for entry in logs] == ["failed"]
        notification = data(
            auth_client.get(
                f"/api/data/notifications/{sent['notificationId']}", headers=auth(admin)
            )
        )
        assert notification["status"] == "failed"
        entry = data(
            auth_client.get(f"/api/data/notification-log/{logs[0]['logId']}", headers=auth(admin))
        )
        assert "ConnectionRefusedError" in entry["error"]
