"""The ``Idempotency-Key`` header: a request with effects, retried under the same key, gets
the first answer again (replayed with ``Idempotent-Replayed: true``) instead of a second
effect. Refusals are answers too: a retried declined card is declined again, not charged.
A 5xx (Paystack unreachable) is not kept: the retry runs again."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Header
from fastapi.responses import JSONResponse, Response

from api.errors import domain_error_response
from core.crypto import TokenCipher
from core.database import AsyncUnitsOfWork
from core.errors import DomainError
from services import idempotency

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique string per attempt (a UUID): a retry with the same key returns "
        "the first answer instead of paying again",
    ),
]


def fingerprint_secret(cipher: TokenCipher) -> bytes:
    # The platform's encryption key keys the digest: without it no digest leads back to a body.
    return cipher.key_material


async def once_per_key(
    units: AsyncUnitsOfWork,
    *,
    user_id: int,
    key: str | None,
    fingerprint: str,
    run: Callable[[], Awaitable[Response]],
) -> Response:
    if key is None:
        return await run()
    async with units() as session:
        first = await session.run_sync(
            lambda s: idempotency.claim(s, user_id=user_id, key=key, fingerprint=fingerprint)
        )
    if first is not None:
        status_code, body = first
        return JSONResponse(body, status_code=status_code, headers={"Idempotent-Replayed": "true"})
    try:
        response = await run()
    except DomainError as exc:
        response = domain_error_response(exc)
    except BaseException:
        await _release(units, user_id, key)
        raise
    if response.status_code >= 500:
        # Paystack failed us, not the client: a retry under the key runs again (the pending
        # payment and the one-pending-card rule keep it from paying twice).
        await _release(units, user_id, key)
        return response
    body = json.loads(bytes(response.body))
    async with units() as session:
        await session.run_sync(
            lambda s: idempotency.remember(
                s, user_id=user_id, key=key, status_code=response.status_code, response=body
            )
        )
    return response


async def _release(units: AsyncUnitsOfWork, user_id: int, key: str) -> None:
    """No answer to keep (a fault, or an outside system's failure): the key is free again."""
    async with units() as session:
        await session.run_sync(lambda s: idempotency.release(s, user_id=user_id, key=key))
