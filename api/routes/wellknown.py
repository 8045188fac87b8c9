"""The issuer's public key, where verifiers of our certificates' credentials look for it:
the did:web DID document and the same key as a JWKS (services/credentials.py).

These are bare JSON documents, not the API's envelope: a DID resolver or a JOSE library
reads the document itself and knows nothing of {status, data, ...}. For the same reason
they stay out of the OpenAPI document, which describes the enveloped API. They are
public (no sign-in) and cacheable; any web page may read them (a verifier running in a
browser fetches the key from another origin).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import StateDep
from services.credentials import did_document, jwks

router = APIRouter(include_in_schema=False)

# Five minutes: a rotated key reaches verifiers soon; a burst of checks costs us nothing.
_HEADERS = {"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}


def _document(body: dict[str, Any]) -> JSONResponse:
    # application/json: the did:web method expects did.json to be served as such, and
    # every resolver and JSON client reads it.
    return JSONResponse(body, headers=_HEADERS, media_type="application/json")


# did:web resolves did:web:<host> to /.well-known/did.json, but a DID with a path
# (an app.public_url such as https://example.com/lms) to <path>/did.json: the app
# answers both, so the document is where the resolver looks whatever the public URL.
@router.get("/.well-known/did.json")
@router.get("/did.json")
async def did_json(state: StateDep) -> JSONResponse:
    return _document(did_document(state.settings))


@router.get("/.well-known/jwks.json")
async def jwks_json(state: StateDep) -> JSONResponse:
    return _document(jwks(state.settings))
