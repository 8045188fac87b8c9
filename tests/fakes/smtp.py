"""A real SMTP server (aiosmtpd) on loopback that keeps what it receives, for reading back."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Mailbox:
    messages: list[EmailMessage] = field(default_factory=list)
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._arrived:
            self.messages.append(message)  # type: ignore[arg-type]
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int = 1, timeout: float = 10) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} emails, got {len(self.messages)}")
                self._arrived.wait(remaining)
            return list(self.messages)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def clear(self) -> None:
        with self._arrived:
            self.messages.clear()


def bodies(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and the HTML body of a message."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return text.get_content(), html.get_content()


class SmtpServer:
    """Can be stopped (an outage) and started again on the same port, any number of times."""

    def __init__(self, port: int) -> None:
        self.mailbox = Mailbox()
        self.port = port
        self.running = False
        self._controller: Controller | None = None

    def start(self) -> None:
        # A controller closes its event loop when it stops: each start needs a new one.
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        self.running = True

    def stop(self) -> None:
        if self.running and self._controller is not None:
            self._controller.stop()
            self.running = False
