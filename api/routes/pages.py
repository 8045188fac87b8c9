"""Pages the platform serves itself while no web frontend stands in front of it (the
embedded default, where ``app.frontend_url`` is the platform's own address): where the
Paystack callback sends a payer back. A real frontend replaces it (``[paystack]
result_url``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.deps import StateDep
from core.settings import PROJECT_ROOT

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
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "Cache-Control": "no-store",
        },
    )
