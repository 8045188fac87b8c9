"""Every task of the platform: importing this module registers them all with ``huey``.

The worker imports it; so do the API processes, to enqueue.
"""

from jobs import notifications
from jobs.queue import huey

__all__ = ["huey", "notifications"]
