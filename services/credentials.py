"""The verifiable credential of a certificate: an Open Badges 3.0 ``OpenBadgeCredential``
(W3C Verifiable Credentials Data Model 2.0) signed with the platform's Ed25519 key, and the
documents that let anyone check it without asking us: the issuer's DID document (did:web),
the same key as a JWKS, and the 1EdTech revocation list.

The proof is a ``DataIntegrityProof`` of the ``eddsa-jcs-2022`` cryptosuite (W3C "Data
Integrity EdDSA Cryptosuites v1.0"): the credential is canonicalized with the JSON
Canonicalization Scheme (RFC 8785) rather than RDF, so signing needs no JSON-LD processing
and no context documents fetched from the web, and a verifier needs only SHA-256 and
Ed25519. The hashing follows the cryptosuite to the letter (``_hash_data``); the test
vectors of the W3C specification pin it (tests/certificates/test_credentials.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from core.errors import ConfigurationError
from core.settings import Settings

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
# The current release of the OB 3.0 context (3.0.3); OB 3.0 requires a versioned or the
# bare context URL right after the VC one.
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DID_CONTEXTS = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]
CRYPTOSUITE = "eddsa-jcs-2022"
KEY_FRAGMENT = "key-1"
CRITERIA = "Completed every module and passed every quiz of the course."
# Where the API publishes the revocation list; and the course's page on the frontend (the
# link every notice about a course carries), which names the achievement. Never to change
# once credentials are issued: they carry these URLs.
REVOCATION_LIST_PATH = "/api/certificates/revocation-list"
ACHIEVEMENT_PATH = "/courses/{course_id}"

# The namespace of our credentials' UUIDs. Fixed for ever: a credential's id must never
# change, since wallets and hosts recognise a re-issued credential by issuer and id
# (OB 3.0 "credential equality and comparison").
_CREDENTIAL_NAMESPACE = uuid.UUID("0b7a9e1c-5d0e-4c56-9a37-3f0c6f8e2d41")
# The multicodec header of an Ed25519 public key (varint of 0xed), as Multikey requires.
_ED25519_PUB_HEADER = b"\xed\x01"
_BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


@dataclass(frozen=True, slots=True)
class CredentialFacts:
    unique_id: str
    learner_name: str
    course_id: int
    course_title: str
    course_description: str | None
    # Aware UTC. ``issued_at`` is when the certificate was awarded (``awardedDate``);
    # ``signed_at`` is this version's signing: the issue date, or the re-issue date.
    issued_at: datetime
    signed_at: datetime
    verification_url: str


@dataclass(frozen=True, slots=True)
class RevokedCredential:
    unique_id: str
    reason: str | None
    revoked_at: datetime


# --- the key and the issuer -------------------------------------------------------------


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    secret = settings.certificates.signing_key
    if secret is None:
        raise ConfigurationError(
            "certificates.signing_key is not set: certificates are signed with it "
            "(LMS_CERTIFICATES__SIGNING_KEY, 32 bytes in url-safe base64)"
        )
    return _parse_key(secret.get_secret_value())


@lru_cache(maxsize=8)
def _parse_key(encoded: str) -> Ed25519PrivateKey:
    try:
        # Url-safe base64, with or without its '=' padding; strictly: a stray character
        # is a damaged key, not one to skip.
        seed = base64.b64decode(encoded + "=" * (-len(encoded) % 4), altchars=b"-_", validate=True)
    except binascii.Error:
        seed = b""
    if len(seed) != 32:
        raise ConfigurationError(
            "certificates.signing_key must be 32 bytes in url-safe base64 (an Ed25519 seed)"
        )
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key_bytes(settings: Settings) -> bytes:
    return signing_key(settings).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def issuer_id(settings: Settings) -> str:
    """The did:web of the platform's public address: ``https://learn.example.com/lms``
    is ``did:web:learn.example.com:lms``, ``http://127.0.0.1:8000`` is
    ``did:web:127.0.0.1%3A8000`` (the port's colon percent-encoded, path segments joined
    by colons, per the did:web method)."""
    parts = urlsplit(settings.app.public_url)
    if not parts.hostname:
        raise ConfigurationError(f"app.public_url {settings.app.public_url!r} names no host")
    identifier = quote(parts.hostname, safe="")
    if parts.port is not None:
        identifier += f"%3A{parts.port}"
    for segment in parts.path.split("/"):
        if segment:
            identifier += ":" + quote(unquote(segment), safe="")
    return f"did:web:{identifier}"


def verification_method(settings: Settings) -> str:
    return f"{issuer_id(settings)}#{KEY_FRAGMENT}"


def did_document(settings: Settings) -> dict[str, Any]:
    did = issuer_id(settings)
    method = verification_method(settings)
    return {
        "@context": list(DID_CONTEXTS),
        "id": did,
        "verificationMethod": [
            {
                "id": method,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": multikey(public_key_bytes(settings)),
            }
        ],
        # Absolute ids: did:web requires every DID URL in the document to be absolute,
        # and 1EdTech's verifier compares the proof's verificationMethod with them.
        "assertionMethod": [method],
    }


def jwks(settings: Settings) -> dict[str, Any]:
    x = base64.urlsafe_b64encode(public_key_bytes(settings)).decode().rstrip("=")
    key = {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": x,
        "kid": verification_method(settings),
        "alg": "EdDSA",
        "use": "sig",
    }
    return {"keys": [key]}


def multikey(public_key: bytes) -> str:
    return "z" + base58btc(_ED25519_PUB_HEADER + public_key)


# --- the credential ---------------------------------------------------------------------


def credential_id(unique_id: str) -> str:
    """The credential's id: a UUID derived from the certificate's unique id, rather than
    the verification page's URL: it stays the same whatever becomes of our addresses and
    routes (hosts match re-issues by it), and it promises no machine-readable document
    where the page is HTML for people."""
    return f"urn:uuid:{uuid.uuid5(_CREDENTIAL_NAMESPACE, unique_id)}"


def unsigned_credential(settings: Settings, facts: CredentialFacts) -> dict[str, Any]:
    public = settings.app.public_url.rstrip("/")
    platform = settings.app.name
    return {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": credential_id(facts.unique_id),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {
            "id": issuer_id(settings),
            "type": ["Profile"],
            "name": platform,
            "url": public,
        },
        "name": f"{facts.course_title} — certificate of completion",
        "description": (
            f"Awarded to {facts.learner_name} for completing {facts.course_title} on "
            f"{platform}. Certificate {facts.unique_id}: {facts.verification_url}"
        ),
        # OB 3.0: the newest validFrom of a credential id is its current version, so a
        # re-issue moves validFrom and awardedDate keeps the original award.
        "validFrom": xsd_datetime(facts.signed_at),
        "awardedDate": xsd_datetime(facts.issued_at),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            # We know our learners by name, not by a DID: OB 3.0 then asks for an
            # identifier, and "name" is one of its identity types (not hashed: the
            # certificate and its public page show the name anyway).
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": facts.learner_name,
                    "identityType": "name",
                    "hashed": False,
                }
            ],
            "achievement": _achievement(settings, facts),
        },
        "credentialStatus": {
            "id": public + REVOCATION_LIST_PATH,
            "type": "1EdTechRevocationList",
        },
    }


def _achievement(settings: Settings, facts: CredentialFacts) -> dict[str, Any]:
    # OB 3.0 requires a description: a course without one gets a plain sentence.
    description = facts.course_description or (
        f"The course {facts.course_title} on {settings.app.name}."
    )
    return {
        "id": settings.frontend_base + ACHIEVEMENT_PATH.format(course_id=facts.course_id),
        "type": ["Achievement"],
        "achievementType": "CertificateOfCompletion",
        "name": facts.course_title,
        "description": description,
        "criteria": {"narrative": CRITERIA},
    }


def signed_credential(settings: Settings, facts: CredentialFacts) -> dict[str, Any]:
    return add_proof(
        unsigned_credential(settings, facts),
        key=signing_key(settings),
        verification_method=verification_method(settings),
        created=facts.signed_at,
    )


def add_proof(
    document: Mapping[str, Any],
    *,
    key: Ed25519PrivateKey,
    verification_method: str,
    created: datetime | str,
) -> dict[str, Any]:
    """The cryptosuite's Create Proof: the document with an ``eddsa-jcs-2022`` proof.

    The proof carries the document's ``@context`` (step 2 of the algorithm): a verifier
    hashes the proof as it finds it, less ``proofValue``, so what was signed must be there.
    ``proof`` is a list of that one proof: VC 2.0 allows one proof or a set, and OB 3.0's
    JSON Schema accepts only the list.
    """
    proof: dict[str, Any] = {
        "type": "DataIntegrityProof",
        "cryptosuite": CRYPTOSUITE,
        "created": created if isinstance(created, str) else xsd_datetime(created),
        "verificationMethod": verification_method,
        "proofPurpose": "assertionMethod",
    }
    if "@context" in document:
        proof["@context"] = document["@context"]
    unsecured = {name: value for name, value in document.items() if name != "proof"}
    signature = key.sign(_hash_data(unsecured, proof))
    return {**unsecured, "proof": [{**proof, "proofValue": "z" + base58btc(signature)}]}


def _hash_data(unsecured: Mapping[str, Any], proof_config: Mapping[str, Any]) -> bytes:
    # Hashing (eddsa-jcs-2022): SHA-256 of the canonical proof configuration first, then
    # SHA-256 of the canonical document; the 64 bytes are what Ed25519 signs.
    return (
        hashlib.sha256(canonical_json(proof_config)).digest()
        + hashlib.sha256(canonical_json(unsecured)).digest()
    )


def revocation_list(settings: Settings, revoked: Sequence[RevokedCredential]) -> dict[str, Any]:
    """The 1EdTech Revocation List served at the credentials' ``credentialStatus.id``:
    a verifier GETs it and finds the credential's ``id`` among ``revokedCredentials``."""
    entries = []
    for item in sorted(revoked, key=lambda entry: (entry.revoked_at, entry.unique_id)):
        entry: dict[str, Any] = {"id": credential_id(item.unique_id), "revoked": True}
        if item.reason:
            entry["revocationReason"] = item.reason
        entries.append(entry)
    return {
        "id": settings.app.public_url.rstrip("/") + REVOCATION_LIST_PATH,
        "issuer": issuer_id(settings),
        "revokedCredentials": entries,
    }


def xsd_datetime(moment: datetime) -> str:
    """An XML Schema dateTime in UTC to the second (``2024-05-01T09:30:00Z``), as the
    credential and its proof carry them."""
    if moment.tzinfo is None:
        raise ValueError("a credential's datetimes must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- encodings --------------------------------------------------------------------------


def base58btc(data: bytes) -> str:
    """Base58 in Bitcoin's alphabet; each leading zero byte is a leading '1'."""
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, digit = divmod(number, 58)
        digits.append(_BASE58_ALPHABET[digit])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))


# RFC 8785 serializes strings as ECMAScript's JSON.stringify does: only the quote, the
# backslash and the control characters are escaped (the short forms where JSON has them,
# else \u00XX in lower case); everything else, non-ASCII included, stays as it is.
_ESCAPED = re.compile(r'["\\\x00-\x1f]')
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n"}
_SHORT_ESCAPES |= {"\r": "\\r", "\t": "\\t"}
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_SAFE_INTEGER = 2**53 - 1


def canonical_json(value: object) -> bytes:
    """The JSON Canonicalization Scheme (RFC 8785) of what we sign: objects with their
    members sorted by the UTF-16 code units of their names, no whitespace, UTF-8.

    Only the JSON our documents hold: strings, integers, booleans, null, objects and
    arrays. Floats are refused rather than serialized the ECMAScript way, which nothing
    of ours needs; so are integers a double cannot hold exactly and lone surrogates,
    which RFC 8785's I-JSON input excludes.
    """
    return _serialize(value).encode("utf-8")


def _serialize(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if abs(value) > _MAX_SAFE_INTEGER:
            raise ValueError(f"{value} is beyond the integers JSON numbers hold exactly")
        return str(value)
    if isinstance(value, float):
        raise TypeError("canonical_json serializes no floats")
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        if not all(isinstance(name, str) for name in value):
            raise TypeError("JSON object member names are strings")
        names = sorted(value, key=lambda name: name.encode("utf-16-be"))
        return "{" + ",".join(f"{_string(name)}:{_serialize(value[name])}" for name in names) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_serialize(item) for item in value) + "]"
    raise TypeError(f"{type(value).__name__} is not JSON")


def _string(text: str) -> str:
    if _LONE_SURROGATE.search(text):
        raise ValueError("a lone surrogate is not a Unicode character")
    escaped = _ESCAPED.sub(
        lambda match: _SHORT_ESCAPES.get(match[0]) or f"\\u{ord(match[0]):04x}", text
    )
    return f'"{escaped}"'
