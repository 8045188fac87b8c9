"""The domain: every business rule lives here once, and the API, the admin panel, the jobs and
the CLI all call it. Services take a session and plain values, ``flush()`` but never commit
(the caller owns the unit of work), and raise :class:`core.errors.DomainError` subclasses."""
