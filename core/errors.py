"""Errors the domain raises. The API turns them into the envelope, the admin shows the
message, a job logs it or retries: nothing below the route layer knows about HTTP."""

from __future__ import annotations


class ConfigurationError(RuntimeError):
    """The platform cannot start with the settings it was given."""


class DomainError(Exception):
    """A rule of the platform refused an operation; ``status_code`` is its HTTP meaning."""

    status_code = 400
    message = "Invalid input data"
    # Most refusals undo the unit of work; a few must keep what was done before refusing
    # (revoking a stolen refresh token's family, for instance).
    keep_changes = False

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)


class InvalidInput(DomainError):
    """Bad input: the message stays the contract's "Invalid input data"; ``field`` and
    ``problem`` say what is wrong, for the envelope's details and for people."""

    status_code = 400

    def __init__(
        self, problem: str, *, field: str | None = None, parameter: str | None = None
    ) -> None:
        super().__init__()
        self.problem = problem
        # ``field`` is the domain's (snake_case) name; ``parameter`` the client's own
        # spelling (a query parameter), shown as it was sent.
        self.field = field
        self.parameter = parameter

    def __str__(self) -> str:
        name = self.parameter or self.field
        return f"{name}: {self.problem}" if name else self.problem


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


class PayloadTooLarge(DomainError):
    status_code = 413
    message = "Request body too large"


class PaymentRequired(DomainError):
    status_code = 402
    message = "Payment required"


class TooManyRequests(DomainError):
    status_code = 429
    message = "Too many requests, try again later"

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


class ServiceUnavailable(DomainError):
    status_code = 503
    message = "Service temporarily unavailable, try again shortly"


class BadGateway(DomainError):
    """An outside system (a payment gateway) failed or refused in a way the client did not
    cause."""

    status_code = 502
    message = "The payment provider could not be reached"


class GatewayTimeout(DomainError):
    status_code = 504
    message = "The payment provider did not answer in time"
