"""What tasks run with: the settings, the queue and the database of the process that built
them. An app, a worker and a command each build their own (``jobs.tasks.build_jobs``), so
nothing depends on process-wide settings read at import time."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import cached_property
from typing import Any

from huey import Huey
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.database import (
    UnitsOfWork,
    make_sync_engine,
    sync_session_factory,
    unit_of_work,
    units_of_work,
)
from core.settings import Settings
from core.tasks import TaskName, queue_info
from integrations.storage import Storage, make_storage, storage_info
from jobs.queue import make_huey


class Jobs:
    """The queue of one process and the units of work its tasks run in; a ``TaskQueue``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.huey: Huey = make_huey(settings)
        self.tasks: dict[TaskName, Callable[..., Any]] = {}

    @cached_property
    def engine(self) -> Engine:
        # Made on first use: an API process only enqueues and never opens it.
        return make_sync_engine(self.settings)

    @cached_property
    def storage(self) -> Storage:
        return make_storage(self.settings)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        # A task's sessions carry this queue, so what a task emits is handed over too, and
        # this process's file store, so what a task deletes takes its files with it.
        info = queue_info(self) | storage_info(self.storage)
        return sync_session_factory(self.engine, info=info)

    @property
    def units(self) -> UnitsOfWork:
        return units_of_work(self.sessions)

    def unit_of_work(self) -> AbstractContextManager[Session]:
        return unit_of_work(self.sessions)

    def enqueue(self, name: TaskName, *args: Any) -> None:
        self.tasks[name](*args)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
