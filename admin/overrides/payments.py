"""Payments in the panel: an admin refunds a payment through Paystack.

The refund is the API's (``services.payment_flows.request_refund``): asked of Paystack with
no transaction open, the payment becomes refunded when Paystack confirms. Each selected
payment is its own refund: one Paystack refused does not undo the others, and the page says
which were refused and why.
"""

from __future__ import annotations

from typing import ClassVar

from sqladmin import action
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin.auth import panel_user
from admin.overrides.actions import ADMINS, ActionsView, reason
from admin.views import PanelError
from core.database import async_units_of_work
from core.errors import DomainError, NotFound
from models import Payment, User
from services.payment_flows import request_refund


class PaymentView(ActionsView):
    action_roles: ClassVar = {"refund": ADMINS}

    @action(
        name="refund",
        label="Refund",
        confirmation_message="Refund the selected payments through Paystack? The learners "
        "lose access to the course once Paystack confirms.",
    )
    async def refund(self, request: Request) -> Response:
        user = panel_user(request)
        units = async_units_of_work(self.state.write_sessions)
        gateways = self.state.payment_gateways
        refused: list[str] = []
        try:
            row_ids = self._selected(request)
        except PanelError as exc:
            return RedirectResponse(str(self._back(request, str(exc))), status_code=302)
        for row_id in row_ids:
            try:
                async with units() as session:
                    payment = await session.get(Payment, row_id)
                if payment is None:
                    raise NotFound("no such payment")
                await request_refund(
                    units, gateways, actor=user, transaction_id=payment.transaction_id
                )
            except DomainError as exc:
                refused.append(f"{self.name} #{row_id}: {reason(exc)}")
                continue
            async with units() as session:
                await session.run_sync(self._audited, user, row_id)
        message = "; ".join(refused) or None
        return RedirectResponse(str(self._back(request, message)), status_code=302)

    def _audited(self, session: Session, user: User, row_id: int) -> None:
        self.audit(session, user, "refund", row_id, {})
