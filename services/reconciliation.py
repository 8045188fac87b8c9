"""Reconciliation: payments whose outcome never reached us (a lost webhook, a timeout, a
payer who closed the tab) are asked of Paystack and settled, so nobody who paid is left
without their course and no checkout stays pending forever. Run by the job worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from core.clock import utcnow
from core.database import UnitsOfWork
from core.logging import get_logger
from core.settings import Settings
from integrations.paystack import PaystackError, SyncPaystack, TransactionNotFound, verify_call
from services import idempotency, payments
from services.payments import Outcome

log = get_logger("services.reconciliation")


@dataclass
class Report:
    asked: int = 0
    unreachable: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


def reconcile(units: UnitsOfWork, paystack: SyncPaystack, settings: Settings) -> Report:
    """Verify every payment due (``payments.due_for_reconciliation``), one short unit of
    work per answer; Paystack is asked with no transaction open."""
    rules = settings.paystack
    abandon_after = timedelta(minutes=rules.abandon_after_minutes)
    base_url = settings.frontend_base
    with units() as session:
        due = payments.due_for_reconciliation(
            session,
            older_than=timedelta(minutes=rules.reconcile_after_minutes),
            recheck_failed=abandon_after,
        )
        # Answers to idempotent requests are kept for a day; this job is their janitor.
        idempotency.forget_before(session, utcnow() - idempotency.KEEP)
    report = Report()
    for reference in due:
        report.asked += 1
        try:
            transaction = paystack.send(verify_call(reference))
        except TransactionNotFound:
            transaction = None
        except PaystackError as exc:
            report.unreachable += 1
            log.warning("reconciliation could not verify", reference=reference, error=str(exc))
            continue
        with units() as session:
            outcome: Outcome = payments.apply_verification(
                session,
                reference=reference,
                transaction=transaction,
                abandon_after=abandon_after,
                base_url=base_url,
            )
        report.outcomes[outcome.value] = report.outcomes.get(outcome.value, 0) + 1
    if due:
        log.info("payments reconciled", asked=report.asked, outcomes=report.outcomes)
    return report
