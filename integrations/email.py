"""Email: Jinja2 templates rendered to a plain-text and an HTML body, sent over SMTP.

Each email has three templates in ``templates/emails/``: ``<name>.subject.txt``,
``<name>.txt`` and ``<name>.html``. SMTP settings cover plain, STARTTLS and implicit TLS
servers, with optional credentials.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from core.settings import PROJECT_ROOT, SmtpSettings

TEMPLATES = PROJECT_ROOT / "templates" / "emails"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render_email(template: str, **context: Any) -> RenderedEmail:
    env = _environment()
    return RenderedEmail(
        subject=env.get_template(f"{template}.subject.txt").render(**context).strip(),
        text=env.get_template(f"{template}.txt").render(**context),
        html=env.get_template(f"{template}.html").render(**context),
    )


class SmtpMailer:
    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    def send(self, *, to: str, email: RenderedEmail) -> None:
        message = EmailMessage()
        message["From"] = self._settings.sender
        message["To"] = to
        message["Subject"] = email.subject
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        settings = self._settings
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if settings.use_tls:
            smtp = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout_seconds, context=context
            )
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
        with smtp:
            if settings.starttls and not settings.use_tls:
                smtp.starttls(context=context)
            if settings.username:
                password = settings.password.get_secret_value() if settings.password else ""
                smtp.login(settings.username, password)
            smtp.send_message(message)
