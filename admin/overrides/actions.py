"""Panel actions on selected rows: one unit of work for the whole selection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session
from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin.auth import BASE_URL
from admin.views import PanelError, ResourceView
from core.errors import DomainError, InvalidInput
from models import Role, User

ADMINS = frozenset({Role.ADMIN})
TEACHERS = frozenset({Role.ADMIN, Role.INSTRUCTOR})

# What an action does to one row: the domain function the API calls, by the signed-in user.
RowAction = Callable[[Session, User, int], Any]


class ActionsView(ResourceView):
    """Runs an action on the selected rows, then returns to the page it came from.

    The selection is one unit of work: every row is changed and audited, or, when one is
    refused, none is, and the page says which row was refused and why.
    """

    async def run_action(self, request: Request, name: str, work: RowAction) -> Response:
        message = None
        try:
            row_ids = self._selected(request)

            def every_row(session: Session, user: User) -> None:
                for row_id in row_ids:
                    try:
                        work(session, user, row_id)
                    except DomainError as exc:
                        raise PanelError(f"{self.name} #{row_id}: {reason(exc)}") from exc
                    self.audit(session, user, name, row_id, {})

            await self.in_transaction(request, every_row)
        except PanelError as exc:
            message = str(exc)
        return RedirectResponse(str(self._back(request, message)), status_code=302)

    def _selected(self, request: Request) -> list[int]:
        raw = [pk for pk in request.query_params.get("pks", "").split(",") if pk]
        # ASCII digits of a 32-bit id ("²".isdigit() too, and int() refuses it).
        if not all(pk.isascii() and pk.isdigit() and int(pk) < 2**31 for pk in raw):
            raise PanelError("The selection names rows that do not exist")
        return [int(pk) for pk in raw]

    def _back(self, request: Request, message: str | None) -> URL:
        """The panel page the action was started from; never another site."""
        target = URL(str(request.url_for("admin:list", identity=self.identity)))
        referer = URL(request.headers.get("referer", ""))
        inside = referer.path == BASE_URL or referer.path.startswith(f"{BASE_URL}/")
        if referer.netloc == request.url.netloc and inside:
            # An earlier refusal shown on that page is over.
            target = referer.remove_query_params("error")
        if message:
            target = target.include_query_params(error=message)
        return target


def reason(error: DomainError) -> str:
    # A refused input says what is wrong in words; the field's name is for API clients.
    return error.problem if isinstance(error, InvalidInput) else error.message
