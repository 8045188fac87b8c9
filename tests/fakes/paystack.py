"""The offline Paystack sandbox served on its own loopback port, for tests of the code that
talks to Paystack (the client, reconciliation, the fuzz run), and the card numbers they use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from integrations.paystack_sandbox import SandboxConfig, create_sandbox
from tests.fakes.server import ThreadedServer, free_port


@contextmanager
def sandbox_server(state_path: Path, *, secret_key: str) -> Iterator[str]:
    """A sandbox over ``state_path``; its base URL. Its webhooks go to a closed port: tests
    that want them use the platform's own mounted sandbox."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = SandboxConfig(
        secret_key=secret_key,
        state_path=state_path,
        public_url=url,
        webhook_url=f"http://127.0.0.1:{free_port()}/nobody",
        webhook_timeout_seconds=0.5,
    )
    server = ThreadedServer(create_sandbox(config), port)
    server.start()
    try:
        yield url
    finally:
        server.stop()


def luhn_completed(prefix: str) -> str:
    """``prefix`` and the check digit that makes it a valid card number."""
    for digit in "0123456789":
        candidate = prefix + digit
        total = 0
        for position, char in enumerate(reversed(candidate)):
            value = int(char) * (2 if position % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable: one digit always completes a Luhn number")
