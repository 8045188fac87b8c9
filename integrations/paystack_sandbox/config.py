"""What the sandbox is given (``SandboxConfig``), the switches that change how it answers
(``Behaviour``), and the one error every route turns into Paystack's envelope."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SandboxConfig:
    secret_key: str  # the Bearer key callers must send; also signs the webhooks
    state_path: Path  # the SQLite file holding transactions, refunds, deliveries, behaviour
    public_url: str  # where the sandbox is reachable, e.g. http://127.0.0.1:8000/sandbox/paystack
    webhook_url: str  # where signed webhooks are POSTed
    webhook_timeout_seconds: float = 5
    business_name: str = "Online Learning Platform"


class SandboxError(Exception):
    """Answered as ``{"status": false, "message": ...}`` with ``status_code``."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class RefundOutcome(StrEnum):
    PROCESSED = "processed"
    FAILED = "failed"


# A request that sleeps longer than this only ties up a worker thread; no test needs more.
MAX_DELAY_SECONDS = 60.0


@dataclass(frozen=True)
class Behaviour:
    delay_seconds: float = 0.0
    fail_status: int | None = None
    refund_outcome: RefundOutcome = RefundOutcome.PROCESSED
    webhooks: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "delaySeconds": self.delay_seconds,
            "failStatus": self.fail_status,
            "refundOutcome": self.refund_outcome.value,
            "webhooks": self.webhooks,
        }

    def updated(self, changes: Mapping[str, Any]) -> Behaviour:
        """This behaviour with the given camelCase fields changed; raises ``SandboxError``."""
        unknown = sorted(set(changes) - set(self.to_json()))
        if unknown:
            raise SandboxError(f"Unknown behaviour field(s): {', '.join(unknown)}")
        result = self
        if "delaySeconds" in changes:
            result = replace(result, delay_seconds=_delay(changes["delaySeconds"]))
        if "failStatus" in changes:
            result = replace(result, fail_status=_fail_status(changes["failStatus"]))
        if "refundOutcome" in changes:
            result = replace(result, refund_outcome=_refund_outcome(changes["refundOutcome"]))
        if "webhooks" in changes:
            if not isinstance(changes["webhooks"], bool):
                raise SandboxError("webhooks must be true or false")
            result = replace(result, webhooks=changes["webhooks"])
        return result


def _delay(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SandboxError("delaySeconds must be a number")
    if not 0 <= value <= MAX_DELAY_SECONDS:
        raise SandboxError(f"delaySeconds must be between 0 and {MAX_DELAY_SECONDS:g}")
    return float(value)


def _fail_status(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 400 <= value <= 599:
        raise SandboxError("failStatus must be null or an HTTP error status (400 to 599)")
    return value


def _refund_outcome(value: object) -> RefundOutcome:
    try:
        return RefundOutcome(str(value))
    except ValueError:
        raise SandboxError('refundOutcome must be "processed" or "failed"') from None
