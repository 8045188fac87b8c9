"""Enrolling with a Paystack payment whose outcome is still open: Paystack is asked first,
with no transaction open, then the enrollment is written in a short unit of work of its own
(``services.enrollments`` holds the rules)."""

from __future__ import annotations

from core.clock import utcnow
from core.database import AsyncUnitsOfWork
from models import User
from services import enrollments
from services.enrollments import Enrolled
from services.payment_flows import Gateways, refresh


async def enroll(
    units: AsyncUnitsOfWork,
    gateways: Gateways,
    *,
    actor: User,
    user_id: int,
    course_id: int,
    payment_id: int | None,
) -> Enrolled:
    """Enroll, verifying a pending Paystack payment first: if Paystack says it succeeded,
    it settles (which enrolls the learner) and this answers with that enrollment."""
    if payment_id is not None:
        async with units() as session:
            payment = await session.run_sync(
                lambda s: enrollments.payment_to_verify(
                    s, actor=actor, user_id=user_id, course_id=course_id, payment_id=payment_id
                )
            )
        if payment is not None:
            await refresh(units, gateways, payment)
    async with units() as session:
        return await session.run_sync(
            lambda s: enrollments.enroll(
                s,
                actor=actor,
                user_id=user_id,
                course_id=course_id,
                payment_id=payment_id,
                now=utcnow(),
                base_url=gateways.base_url,
            )
        )
