"""The worker's routing: every event the platform can emit has handlers (or is recorded for
analytics only), every task a service can name is registered, the demo speaks the same
vocabulary, and an event already processed is never handled again."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.crypto import TokenCipher
from core.events import ACCOUNT_EMAILS, ANALYTICS_ONLY, EventType
from core.settings import Settings
from core.tasks import TaskName
from jobs.events import HANDLERS, UnroutedEvent, handlers_for
from jobs.notifications import deliver_event
from jobs.runtime import Jobs
from jobs.tasks import TASKS
from models import Analytics, Notification, OutboxEvent, User
from services.demo import seed_demo
from services.notifications import notify
from services.outbox import mark_processed
from tests.models.factories import make_user

ROUTED = [kind for kind in EventType if kind not in ANALYTICS_ONLY]


class TestEveryEventIsRouted:
    @pytest.mark.parametrize("kind", ROUTED, ids=str)
    def test_an_event_that_is_not_analytics_only_has_handlers(self, kind: EventType) -> None:
        assert HANDLERS.get(kind), f"{kind.value!r} has no handlers in jobs/events.py"
        assert handlers_for(kind.value) == HANDLERS[kind]

    @pytest.mark.parametrize("kind", sorted(ANALYTICS_ONLY), ids=str)
    def test_an_analytics_only_event_runs_nothing(self, kind: EventType) -> None:
        assert kind not in HANDLERS, f"{kind.value!r} is analytics only, yet routed"
        assert handlers_for(kind.value) == ()

    def test_the_routing_table_names_only_events_of_the_vocabulary(self) -> None:
        assert all(isinstance(kind, EventType) for kind in HANDLERS)

    def test_every_account_email_is_routed(self) -> None:
        assert set(ACCOUNT_EMAILS) <= set(HANDLERS)


class TestAnUnknownEvent:
    def test_has_no_handlers_and_says_so(self) -> None:
        with pytest.raises(UnroutedEvent, match=r"no\.such_event"):
            handlers_for("no.such_event")

    def test_is_not_mistaken_for_a_known_one_by_its_case(self) -> None:
        with pytest.raises(UnroutedEvent):
            handlers_for(EventType.ENROLLMENT_CREATED.value.upper())


class TestEveryTaskIsRegistered:
    def test_every_task_is_named_by_a_task_name(self) -> None:
        strays = [name for name in TASKS if not isinstance(name, TaskName)]
        assert strays == [], f"tasks without a TaskName: {strays}"

    def test_every_task_name_has_a_task(self) -> None:
        missing = sorted(set(TaskName) - set(TASKS))
        assert missing == [], f"task names nobody registered: {missing}"

    def test_the_worker_registers_every_task_under_its_name(self, jobs_inline: Jobs) -> None:
        assert set(jobs_inline.tasks) == set(TaskName)
        registered = set(jobs_inline.huey._registry._registry)
        for name in TaskName:
            assert any(key.endswith(f".{name.value}") or key == name.value for key in registered), (
                f"{name.value!r} is not on the queue ({sorted(registered)})"
            )


class TestTheDemoSpeaksTheVocabulary:
    # The outbox is written only by emitters typed with EventType (mypy checks them); the
    # demo writes analytics rows by hand, so those are what can stray from the list.
    def test_every_analytics_event_it_records_is_an_event_type(
        self, session: Session, settings: Settings
    ) -> None:
        assert seed_demo(session, cipher=TokenCipher.from_settings(settings)) is True
        session.commit()
        known = {kind.value for kind in EventType}

        recorded = set(session.scalars(select(Analytics.event_type).distinct()))

        assert recorded, "the demo recorded no analytics events"
        assert recorded - known == set(), "analytics event types outside the vocabulary"


def count_notifications(session: Session, event_id: int) -> int:
    return int(session.scalar(select(func.count()).where(Notification.event_id == event_id)) or 0)


def notifications_of(session: Session, event_id: int) -> int:
    """Read from the test's own session, whose read then ends (the worker writes through
    its own connections)."""
    session.expire_all()
    count = count_notifications(session, event_id)
    session.rollback()
    return count


def enrollment_event(session: Session, learner: User) -> int:
    """An event that notifies ``learner``, written without a queue (nothing delivers it)."""
    event = notify(
        session,
        EventType.ENROLLMENT_CREATED,
        user_id=learner.user_id,
        subject="Welcome",
        message="You are enrolled.",
    )
    assert event is not None
    return event.event_id


class TestDeliveringAnEvent:
    def test_runs_its_handlers_and_marks_it_processed(
        self, jobs_inline: Jobs, session: Session
    ) -> None:
        learner = make_user(session)
        event_id = enrollment_event(session, learner)
        session.commit()
        assert notifications_of(session, event_id) == 0

        deliver_event(jobs_inline, event_id)

        # One per channel the learner wants by default (email and in-app).
        assert notifications_of(session, event_id) == 2
        event = session.get(OutboxEvent, event_id)
        assert event is not None
        assert event.processed_at is not None

    def test_an_event_already_processed_runs_no_handler(
        self, jobs_inline: Jobs, session: Session
    ) -> None:
        learner = make_user(session)
        event_id = enrollment_event(session, learner)
        # Processed, yet no handler ever ran: any notification would come from a rerun.
        mark_processed(session, event_id)
        session.commit()
        processed_at = session.get(OutboxEvent, event_id).processed_at  # type: ignore[union-attr]
        session.rollback()

        deliver_event(jobs_inline, event_id)

        assert notifications_of(session, event_id) == 0
        event = session.get(OutboxEvent, event_id)
        assert event is not None
        assert event.processed_at == processed_at

    def test_an_event_emitted_in_a_unit_of_work_is_delivered_once_it_commits(
        self, jobs_inline: Jobs, session: Session
    ) -> None:
        learner = make_user(session)
        session.commit()

        with jobs_inline.unit_of_work() as work:
            user = work.get(User, learner.user_id)
            assert user is not None
            event_id = enrollment_event(work, user)
            assert count_notifications(work, event_id) == 0  # nothing runs before the commit

        assert notifications_of(session, event_id) == 2
        # Handed over again (a sweep, a retry): the event is processed, nothing is doubled.
        deliver_event(jobs_inline, event_id)
        assert notifications_of(session, event_id) == 2
