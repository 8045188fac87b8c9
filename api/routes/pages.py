"""Pages the platform serves itself while no web frontend stands in front of it (the
embedded default, where ``app.frontend_url`` is the platform's own address): where the
Paystack callback sends a payer back (a real frontend replaces it: ``[paystack]
result_url``); and the public page of a certificate, which its QR code opens."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.deps import SessionDep, StateDep
from api.routes.certificates import verification_of
from core.clock import long_date
from core.settings import PROJECT_ROOT
from services.certificates import CertificateNotFound, verified

router = APIRouter(include_in_schema=False)

Outcome = Literal["success", "failed", "pending", "refunded", "unknown"]
_WORDS: dict[str, tuple[str, str, str]] = {
    "success": ("✓", "Payment successful", "Your payment was received. A receipt is on its way."),
    "failed": ("!", "Payment failed", "The payment did not go through. You were not charged."),
    "pending": ("…", "Payment pending", "We are waiting for Paystack to confirm the payment."),
    "refunded": ("↺", "Payment refunded", "This payment was refunded."),
    "unknown": ("?", "Payment not found", "We know no payment with this reference."),
}


@lru_cache(maxsize=1)
def _pages() -> Environment:
    return Environment(
        loader=FileSystemLoader(PROJECT_ROOT / "templates" / "pages"),
        autoescape=select_autoescape(default=True),
    )


_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "Cache-Control": "no-store",
}


@router.get("/payments/result", response_class=HTMLResponse)
async def payment_result(
    state: StateDep,
    status: Annotated[Outcome, Query()] = "unknown",
    reference: Annotated[str | None, Query(max_length=100, pattern=r"^[A-Za-z0-9.=-]+$")] = None,
) -> HTMLResponse:
    icon, title, text = _WORDS[status]
    html = (
        _pages()
        .get_template("payment_result.html")
        .render(
            app_name=state.settings.app.name,
            status=status,
            icon=icon,
            title=title,
            text=text,
            reference=reference,
        )
    )
    return HTMLResponse(html, headers=_HEADERS)


@router.get("/verify/{uniqueId}", response_class=HTMLResponse)
async def certificate_page(
    state: StateDep,
    session: SessionDep,
    unique_id: Annotated[str, Path(alias="uniqueId")],
) -> HTMLResponse:
    """The page a certificate's QR code opens: what ``GET /api/certificates/verify/{id}``
    says, for a person (a revoked one says so, with the date and the reason)."""
    template = _pages().get_template("certificate_verification.html")
    try:
        certificate = await session.run_sync(lambda s: verified(s, unique_id))
    except CertificateNotFound:
        html = template.render(app_name=state.settings.app.name, found=False, asked=unique_id)
        return HTMLResponse(html, status_code=404, headers=_HEADERS)
    view = verification_of(certificate, state.settings)
    html = template.render(
        app_name=state.settings.app.name,
        found=True,
        v=view,
        issued_on=long_date(view.issue_date),
        revoked_on=long_date(view.revoked_at) if view.revoked_at else None,
    )
    return HTMLResponse(html, headers=_HEADERS)
