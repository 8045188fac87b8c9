"""Account emails sent by the worker: password reset and email verification.

The task carries the user's id and the single-purpose token; it reloads the user so the
email goes to the current address, and does nothing for a user who is gone or deactivated.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlencode

from core.logging import get_logger
from core.settings import get_settings
from integrations.email import SmtpMailer, render_email
from jobs.context import correlated, job_unit_of_work
from jobs.queue import huey
from models import User

log = get_logger("jobs.account_emails")

AccountEmail = Literal["password_reset", "verify_email"]
_PAGES: dict[str, str] = {"password_reset": "reset-password", "verify_email": "verify-email"}


@huey.task(retries=5, retry_delay=30)
def send_account_email(
    kind: AccountEmail, user_id: int, token: str, request_id: str | None = None
) -> None:
    with correlated(request_id):
        settings = get_settings()
        with job_unit_of_work() as session:
            user = session.get(User, user_id)
            if user is None or not user.is_active:
                log.info("account email skipped", kind=kind, user_id=user_id)
                return
            to, name = user.email, user.name
        page = _PAGES[kind]
        link = f"{settings.app.frontend_url.rstrip('/')}/{page}?{urlencode({'token': token})}"
        email = render_email(
            kind,
            name=name,
            link=link,
            platform_name=settings.app.name,
            valid_minutes=settings.security.reset_token_minutes,
            valid_hours=settings.security.verify_token_hours,
        )
        SmtpMailer(settings.smtp).send(to=to, email=email)
        log.info("account email sent", kind=kind, user_id=user_id)
