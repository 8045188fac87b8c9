"""Creating a user through the data API hashes the password off the event loop: while the
Argon2 hash runs (a tenth of a second or more of CPU), the same process keeps answering.

The client and the app share one event loop (``httpx.ASGITransport`` calls the app in the
client's task), exactly as concurrent requests share a server's loop. The app builds all its
state in ``create_app``; its lifespan only closes it, and is run here so that the engines
are disposed of on the loop that opened their connections.

Why this test can fail. The health checks are sent on a fixed schedule (one every
``STEP`` seconds) over a window shorter than one hash, starting just after the creation was
sent. If the hash ran on the loop (``prepare`` called directly, or inside ``run_sync``), the
loop would stand still for the whole hash, ``H`` seconds: the first check due after the hash
began could not even be sent until it ended, so it would come back at least ``H - STEP`` late
(the hash starts a few milliseconds in, after the token check and the body's validation,
well inside the window). The test allows ``H / 2``. The order of the answers alone would not
show it: once a blocked loop is free again, a health check still finishes before the
creation's remaining SQL does, so the lateness is what is asserted first.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from api.app import create_app
from core.passwords import hash_password
from core.settings import Settings
from tests.world import World

STEP = 0.01  # seconds between two health checks
PASSWORD = "a-long-enough-password"


@dataclass(frozen=True)
class Answer:
    due: float  # when it was to be sent
    done: float  # when its answer came back
    status: int

    @property
    def late(self) -> float:
        return self.done - self.due


def hash_seconds() -> float:
    """How long one hash takes on this machine (the shorter of two, to be conservative)."""
    times = []
    for _ in range(2):
        start = time.perf_counter()
        hash_password(PASSWORD)
        times.append(time.perf_counter() - start)
    return min(times)


async def create_while_checking_health(
    app: FastAPI, headers: dict[str, str], window: float
) -> tuple[Answer, list[Answer]]:
    """POST a user with a password and, while it runs, GET /healthz every STEP seconds for
    ``window`` seconds: the creation's answer and the health checks' answers."""
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        # Warm up (the first request opens the database connection and fills caches), so
        # the creation's own time is its work, the hash first of all.
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/api/data/users", headers=headers)).status_code == 200

        async def create() -> Answer:
            due = time.perf_counter()
            answer = await client.post(
                "/api/data/users",
                headers=headers,
                json={"email": "loop@example.com", "name": "Loop Test", "password": PASSWORD},
            )
            return Answer(due, time.perf_counter(), answer.status_code)

        async def check(due: float) -> Answer:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            answer = await client.get("/healthz")
            return Answer(due, time.perf_counter(), answer.status_code)

        async def checks() -> list[Answer]:
            start = time.perf_counter()
            count = max(3, int(window / STEP))
            return list(await asyncio.gather(*(check(start + i * STEP) for i in range(count))))

        created, health = await asyncio.gather(create(), checks())
    return created, health


class TestCreatingAUserWithAPassword:
    def test_does_not_block_the_event_loop(self, settings: Settings, world: World) -> None:
        hashing = hash_seconds()
        assert hashing > 0.05, f"a hash took {hashing:.3f}s: too fast to measure a block"
        app = create_app(settings)

        created, health = asyncio.run(
            create_while_checking_health(app, world.headers("admin"), window=0.8 * hashing)
        )

        assert created.status == 201
        assert {answer.status for answer in health} == {200}
        # Every health check answered promptly, although the hash ran meanwhile...
        latest = max(answer.late for answer in health)
        assert latest < hashing / 2, (
            f"a health check came back {latest:.3f}s late during a {hashing:.3f}s hash: "
            "the loop was blocked"
        )
        # ... and all of them came back before the creation did.
        assert max(answer.done for answer in health) < created.done
        # The creation really took about a hash: the checks overlapped it.
        assert created.done - created.due > 0.8 * hashing
