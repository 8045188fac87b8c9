"""Every task of the platform: importing this module registers them all with ``huey``.

The worker imports it; so do the API processes, to enqueue.
"""

from jobs import account_emails
from jobs.queue import huey

__all__ = ["account_emails", "huey"]
