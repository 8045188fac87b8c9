"""The certificate tasks: issuing one (after a completed course) and the sweep that finishes
whatever an earlier attempt left (a crash mid-issue, storage down past the retries, an
enqueue lost with the queue)."""

from __future__ import annotations

from datetime import timedelta

from core.logging import get_logger
from core.tasks import TaskName
from jobs.runtime import Jobs
from services.certificate_flows import issue
from services.certificates import unfinished

log = get_logger("jobs.certificates")

# Longer than an issue takes with its retries (see RETRIES in jobs/tasks.py), so the sweep
# never races a task still at work.
SWEEP_AFTER = timedelta(minutes=10)


def issue_certificate(jobs: Jobs, user_id: int, course_id: int) -> None:
    """Raises when rendering or storing fails: the queue retries (the row stays issuing,
    seen by nobody, until its file is stored)."""
    issued = issue(jobs.units, jobs.storage, jobs.settings, user_id=user_id, course_id=course_id)
    if issued is not None and issued.created:
        log.info("certificate issued", certificate_id=issued.certificate_id, user_id=user_id)


def finish_certificates(jobs: Jobs) -> int:
    """Ask again for every certificate still owed; how many were asked for."""
    with jobs.unit_of_work() as session:
        owed = unfinished(session, older_than=SWEEP_AFTER)
    for user_id, course_id in owed:
        jobs.enqueue(TaskName.ISSUE_CERTIFICATE, user_id, course_id)
    if owed:
        log.info("certificates owed handed over", certificates=len(owed))
    return len(owed)
