"""The periodic payment task: reconciliation (``services.reconciliation``)."""

from __future__ import annotations

import httpx

from integrations.paystack import SyncPaystack
from jobs.runtime import Jobs
from services.reconciliation import reconcile


def reconcile_payments(jobs: Jobs) -> None:
    with httpx.Client() as http:
        reconcile(jobs.units, SyncPaystack(jobs.settings.paystack, http), jobs.settings)
