"""Errors the domain raises. The API turns them into the envelope, the admin shows the
message, a job logs it or retries: nothing below the route layer knows about HTTP."""

from __future__ import annotations


class ConfigurationError(RuntimeError):
    """The platform cannot start with the settings it was given."""


class DomainError(Exception):
    """A rule of the platform refused an operation; ``status_code`` is its HTTP meaning."""

    status_code = 400
    message = "Invalid input data"

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)


class InvalidInput(DomainError):
    status_code = 400


class Unauthorized(DomainError):
    status_code = 401
    message = "Authentication required"


class Forbidden(DomainError):
    status_code = 403
    message = "Access denied"


class NotFound(DomainError):
    status_code = 404
    message = "Not found"


class Conflict(DomainError):
    status_code = 409
    message = "Conflict"


class PaymentRequired(DomainError):
    status_code = 402
    message = "Payment required"
