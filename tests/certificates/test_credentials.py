"""A certificate's verifiable credential: an Open Badges 3.0 ``OpenBadgeCredential`` with an
``eddsa-jcs-2022`` Data Integrity proof, which anyone verifies with the key the platform
publishes (its did:web DID document, or the same key as a JWKS) and standard libraries
alone; the revocation list that says which credentials no longer hold; and the two public
routes that publish the key.

The verifier below is written here, from the cryptosuite's text, on purpose: it shares no
code with services/credentials.py, so a credential it accepts is one a third party accepts.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.routes import wellknown
from core.errors import ConfigurationError
from core.settings import Settings
from services.credentials import (
    CredentialFacts,
    RevokedCredential,
    add_proof,
    base58btc,
    canonical_json,
    credential_id,
    did_document,
    issuer_id,
    jwks,
    multikey,
    public_key_bytes,
    revocation_list,
    signed_credential,
    signing_key,
)
from tests.conftest import FAKE_SIGNING_KEY, base_settings

ANOTHER_KEY = "b3RoZXItcGxhdGZvcm0tc2lnbmluZy1rZXktMzJieXQ"
ISSUED = datetime(2024, 5, 1, 9, 30, 0, tzinfo=UTC)


def make_settings(
    tmp_path: Path, *, signing_key: str | None = FAKE_SIGNING_KEY, **app: object
) -> Settings:
    return base_settings(
        tmp_path,
        "sqlite:///" + str(tmp_path / "x.db"),
        app={"name": "Learnwell", **app},
        certificates={"signing_key": signing_key},
    )


def facts(**changes: Any) -> CredentialFacts:
    values: dict[str, Any] = {
        "unique_id": "CERT-7KQ2-M9XD-4TPA-B3HC",
        "learner_name": "Ada Lovelace",
        "course_id": 42,
        "course_title": "Analytical Engines",
        "course_description": "Programs for machines that weave algebra.",
        "issued_at": ISSUED,
        "signed_at": ISSUED,
        "verification_url": "http://127.0.0.1:8000/certificates/CERT-7KQ2-M9XD-4TPA-B3HC",
    }
    return CredentialFacts(**(values | changes))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


# --- an independent verifier ------------------------------------------------------------

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        number = number * 58 + ALPHABET.index(char)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def jcs(value: object) -> bytes:
    # Enough of RFC 8785 for documents with ASCII member names and no numbers but
    # small integers: sorted keys, no whitespace, UTF-8.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def published_key(document: dict[str, Any], method_id: str) -> bytes:
    """The raw Ed25519 key the DID document publishes for a proof's verificationMethod."""
    assert method_id in document["assertionMethod"]
    (method,) = [m for m in document["verificationMethod"] if m["id"] == method_id]
    assert method["type"] == "Multikey"
    assert method["publicKeyMultibase"].startswith("z")
    decoded = b58decode(method["publicKeyMultibase"][1:])
    assert decoded[:2] == b"\xed\x01"  # the multicodec header of an Ed25519 public key
    return decoded[2:]


def verify(credential: dict[str, Any], public_key: bytes) -> bool:
    """Verify Proof (eddsa-jcs-2022), from the W3C Data Integrity EdDSA Cryptosuites."""
    (proof,) = credential["proof"]  # a proof set of one, as OB 3.0's JSON Schema wants
    proof = dict(proof)
    assert proof["type"] == "DataIntegrityProof"
    assert proof["cryptosuite"] == "eddsa-jcs-2022"
    assert proof["proofPurpose"] == "assertionMethod"
    signature = b58decode(proof.pop("proofValue").removeprefix("z"))
    document = {name: value for name, value in credential.items() if name != "proof"}
    assert document["@context"][: len(proof["@context"])] == proof["@context"]
    document["@context"] = proof["@context"]
    hash_data = hashlib.sha256(jcs(proof)).digest() + hashlib.sha256(jcs(document)).digest()
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, hash_data)
    except InvalidSignature:
        return False
    return True


def altered(credential: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    """The credential with one character of one string changed."""
    changed = copy.deepcopy(credential)
    holder: Any = changed
    for step in path[:-1]:
        holder = holder[step]
    text: str = holder[path[-1]]
    last = "1" if text[-1] != "1" else "2"
    holder[path[-1]] = text[:-1] + last
    return changed


# --- the credential ---------------------------------------------------------------------


class TestSignedCredential:
    def test_verifies_with_nothing_but_the_key_of_the_did_document(
        self, settings: Settings
    ) -> None:
        credential = signed_credential(settings, facts())
        key = published_key(did_document(settings), credential["proof"][0]["verificationMethod"])
        assert verify(credential, key)

    @pytest.mark.parametrize(
        "path",
        [
            ("credentialSubject", "identifier", 0, "identityHash"),  # the learner's name
            ("credentialSubject", "achievement", "name"),  # the course title
            ("name",),
            ("validFrom",),
            ("issuer", "id"),
            ("proof", 0, "created"),
            ("proof", 0, "verificationMethod"),
        ],
    )
    def test_changing_one_character_breaks_the_signature(
        self, settings: Settings, path: tuple[str | int, ...]
    ) -> None:
        credential = signed_credential(settings, facts())
        key = public_key_bytes(settings)
        assert verify(credential, key)
        tampered = altered(credential, path)
        assert not verify(tampered, key)

    def test_one_signed_by_another_key_does_not_verify_against_ours(
        self, settings: Settings, tmp_path: Path
    ) -> None:
        impostor = make_settings(tmp_path, signing_key=ANOTHER_KEY)
        forged = signed_credential(impostor, facts())
        # Same issuer DID, same verification method: only the key differs.
        (proof,) = forged["proof"]
        assert proof["verificationMethod"] == did_document(settings)["assertionMethod"][0]
        ours = published_key(did_document(settings), proof["verificationMethod"])
        assert not verify(forged, ours)
        assert verify(forged, public_key_bytes(impostor))

    def test_is_an_open_badge_of_the_course(self, settings: Settings) -> None:
        credential = signed_credential(settings, facts())
        did = issuer_id(settings)
        assert credential["@context"] == [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ]
        assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
        assert credential["id"] == credential_id("CERT-7KQ2-M9XD-4TPA-B3HC")
        assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", credential["id"])
        assert credential["issuer"] == {
            "id": did,
            "type": ["Profile"],
            "name": "Learnwell",
            "url": "http://127.0.0.1:8000",
        }
        assert credential["name"] == "Analytical Engines — certificate of completion"
        assert credential["validFrom"] == "2024-05-01T09:30:00Z"
        assert credential["awardedDate"] == "2024-05-01T09:30:00Z"
        assert "CERT-7KQ2-M9XD-4TPA-B3HC" in credential["description"]
        assert facts().verification_url in credential["description"]
        subject = credential["credentialSubject"]
        assert subject["type"] == ["AchievementSubject"]
        # No DID for the learner: OB 3.0 then requires an identifier, here the name.
        assert subject["identifier"] == [
            {
                "type": "IdentityObject",
                "identityHash": "Ada Lovelace",
                "identityType": "name",
                "hashed": False,
            }
        ]
        assert subject["achievement"] == {
            "id": "http://127.0.0.1:8000/courses/42",  # the course's page on the frontend
            "type": ["Achievement"],
            "achievementType": "CertificateOfCompletion",
            "name": "Analytical Engines",
            "description": "Programs for machines that weave algebra.",
            "criteria": {
                "narrative": "Completed every module and passed every quiz of the course."
            },
        }
        assert credential["credentialStatus"] == {
            "id": "http://127.0.0.1:8000/api/certificates/revocation-list",
            "type": "1EdTechRevocationList",
        }
        # A set of one proof: OB 3.0's JSON Schema takes ``proof`` as a list only.
        (proof,) = credential["proof"]
        assert proof["verificationMethod"] == f"{did}#key-1"
        assert proof["created"] == "2024-05-01T09:30:00Z"
        assert proof["@context"] == credential["@context"]

    def test_a_reissue_keeps_the_id_and_moves_valid_from(self, settings: Settings) -> None:
        first = signed_credential(settings, facts())
        later = ISSUED + timedelta(days=30)
        again = signed_credential(settings, facts(learner_name="Ada King", signed_at=later))
        # OB 3.0 hosts take the same issuer and id with a newer validFrom as its update.
        assert again["id"] == first["id"]
        assert again["validFrom"] == "2024-05-31T09:30:00Z"
        assert again["awardedDate"] == first["awardedDate"] == "2024-05-01T09:30:00Z"
        assert again["proof"][0]["created"] == "2024-05-31T09:30:00Z"
        assert verify(again, public_key_bytes(settings))

    def test_each_certificate_has_its_own_id(self) -> None:
        assert credential_id("CERT-AAAA-AAAA-AAAA-AAAA") != credential_id(
            "CERT-AAAA-AAAA-AAAA-AAAB"
        )
        assert credential_id("CERT-AAAA-AAAA-AAAA-AAAA") == credential_id(
            "CERT-AAAA-AAAA-AAAA-AAAA"
        )

    def test_a_course_without_a_description_still_describes_the_achievement(
        self, settings: Settings
    ) -> None:
        credential = signed_credential(settings, facts(course_description=None))
        description = credential["credentialSubject"]["achievement"]["description"]
        assert description == "The course Analytical Engines on Learnwell."

    def test_datetimes_are_utc_to_the_second(self, settings: Settings) -> None:
        lagos = timezone(timedelta(hours=1))
        moment = datetime(2024, 5, 1, 10, 30, 0, 987654, tzinfo=lagos)
        credential = signed_credential(settings, facts(issued_at=moment, signed_at=moment))
        assert (
            credential["validFrom"] == credential["proof"][0]["created"] == "2024-05-01T09:30:00Z"
        )

    def test_a_naive_datetime_is_refused(self, settings: Settings) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            signed_credential(settings, facts(signed_at=datetime(2024, 5, 1, 9, 30)))  # noqa: DTZ001

    def test_non_ascii_names_are_signed_as_they_are(self, settings: Settings) -> None:
        credential = signed_credential(
            settings, facts(learner_name="Chiamaka Ọ̀kọ́lọ́", course_title="数据结构 101")
        )
        assert credential["credentialSubject"]["identifier"][0]["identityHash"] == "Chiamaka Ọ̀kọ́lọ́"
        assert verify(credential, public_key_bytes(settings))


class TestCryptosuiteTestVector:
    """The eddsa-jcs-2022 example of the W3C specification (its TestVectors folder):
    the same key, document and options give the same signature, byte for byte."""

    PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
    PRIVATE = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
    METHOD = f"did:key:{PUBLIC}#{PUBLIC}"
    DOCUMENT: ClassVar[dict[str, Any]] = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/examples/v2",
        ],
        "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
        "type": ["VerifiableCredential", "AlumniCredential"],
        "name": "Alumni Credential",
        "description": "A minimum viable example of an Alumni Credential.",
        "issuer": "https://vc.example/issuers/5678",
        "validFrom": "2023-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:abcdefgh", "alumniOf": "The School of Examples"},
    }
    PROOF_VALUE = (
        "z2HnFSSPPBzR36zdDgK8PbEHeXbR56YF24jwMpt3R1eHXQzJDMWS93FCzpvJpwTWd3GAVFuUfjoJdcnTMuVor51aX"
    )
    DOCUMENT_HASH = "59b7cb6251b8991add1ce0bc83107e3db9dbbab5bd2c28f687db1a03abc92f19"

    def key(self) -> Ed25519PrivateKey:
        decoded = b58decode(self.PRIVATE[1:])
        assert decoded[:2] == b"\x80\x26"  # ed25519-priv
        return Ed25519PrivateKey.from_private_bytes(decoded[2:])

    def test_gives_the_specifications_signature(self) -> None:
        signed = add_proof(
            self.DOCUMENT,
            key=self.key(),
            verification_method=self.METHOD,
            created="2023-02-24T23:36:38Z",
        )
        assert signed["proof"][0]["proofValue"] == self.PROOF_VALUE
        assert signed["proof"][0]["@context"] == self.DOCUMENT["@context"]
        assert hashlib.sha256(canonical_json(self.DOCUMENT)).hexdigest() == self.DOCUMENT_HASH

    def test_encodes_the_specifications_public_key(self) -> None:
        public = b58decode(self.PUBLIC[1:])[2:]
        assert multikey(public) == self.PUBLIC
        assert self.key().public_key().public_bytes_raw() == public

    def test_verifies_the_specifications_credential(self) -> None:
        proof = {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-jcs-2022",
            "created": "2023-02-24T23:36:38Z",
            "verificationMethod": self.METHOD,
            "proofPurpose": "assertionMethod",
            "@context": self.DOCUMENT["@context"],
            "proofValue": self.PROOF_VALUE,
        }
        public = b58decode(self.PUBLIC[1:])[2:]
        # The independent verifier of these tests, on the specification's own example.
        assert verify(self.DOCUMENT | {"proof": [proof]}, public)
        assert not verify(self.DOCUMENT | {"proof": [proof], "name": "Alumni Credentia1"}, public)


# --- the issuer's documents -------------------------------------------------------------


class TestIssuerDocuments:
    @pytest.mark.parametrize(
        ("public_url", "did"),
        [
            ("http://127.0.0.1:8000", "did:web:127.0.0.1%3A8000"),
            ("https://learn.example.com/lms", "did:web:learn.example.com:lms"),
            ("https://learn.example.com/lms/", "did:web:learn.example.com:lms"),
            ("https://learn.example.com", "did:web:learn.example.com"),
            # The did:web specification's own example.
            ("https://example.com:3000/user/alice", "did:web:example.com%3A3000:user:alice"),
        ],
    )
    def test_the_issuer_is_the_did_web_of_the_public_url(
        self, tmp_path: Path, public_url: str, did: str
    ) -> None:
        assert issuer_id(make_settings(tmp_path, public_url=public_url)) == did

    def test_the_did_document_publishes_the_signing_key(self, settings: Settings) -> None:
        did = issuer_id(settings)
        document = did_document(settings)
        assert document["@context"] == [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/multikey/v1",
        ]
        assert document["id"] == did
        (method,) = document["verificationMethod"]
        assert method["id"] == f"{did}#key-1"
        assert method["controller"] == did
        assert document["assertionMethod"] == [f"{did}#key-1"]
        public = signing_key(settings).public_key().public_bytes_raw()
        assert published_key(document, f"{did}#key-1") == public
        assert method["publicKeyMultibase"].startswith("z6Mk")  # every Ed25519 Multikey does

    def test_the_jwks_holds_the_same_key(self, settings: Settings) -> None:
        (key,) = jwks(settings)["keys"]
        assert key == {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": key["x"],
            "kid": f"{issuer_id(settings)}#key-1",
            "alg": "EdDSA",
            "use": "sig",
        }
        x = key["x"] + "=" * (-len(key["x"]) % 4)
        did_key = published_key(did_document(settings), key["kid"])
        assert base64.urlsafe_b64decode(x) == did_key
        assert "d" not in key  # never the private part


class TestSigningKey:
    def test_reads_the_key_with_or_without_padding(self, tmp_path: Path) -> None:
        plain = make_settings(tmp_path)
        padded = make_settings(tmp_path, signing_key=FAKE_SIGNING_KEY + "=")
        assert public_key_bytes(plain) == public_key_bytes(padded)

    def test_is_parsed_once_per_key(self, settings: Settings, tmp_path: Path) -> None:
        assert signing_key(settings) is signing_key(settings)
        assert signing_key(settings) is signing_key(make_settings(tmp_path))

    @pytest.mark.parametrize(
        "value",
        ["dG9vLXNob3J0", FAKE_SIGNING_KEY[:-1] + "*", FAKE_SIGNING_KEY + "AAAA"],
        ids=["too short", "not base64", "too long"],
    )
    def test_a_damaged_key_stops_with_a_clear_message(self, tmp_path: Path, value: str) -> None:
        settings = make_settings(tmp_path, signing_key=value)
        with pytest.raises(ConfigurationError, match="32 bytes"):
            signing_key(settings)

    def test_no_key_stops_with_a_clear_message(self, tmp_path: Path) -> None:
        settings = make_settings(tmp_path, signing_key=None)
        with pytest.raises(ConfigurationError, match=r"certificates\.signing_key is not set"):
            signed_credential(settings, facts())


# --- JCS and base58 ---------------------------------------------------------------------


class TestCanonicalJson:
    def test_sorts_members_by_utf16_code_units(self) -> None:
        # RFC 8785 section 3.2.3: U+1F600 (surrogates D83D DE00) sorts before U+FB33,
        # although its code point is larger.
        value = {
            "\u20ac": "Euro Sign",
            "\r": "Carriage Return",
            "\ufb33": "Hebrew Letter Dalet With Dagesh",
            "1": "One",
            "\U0001f600": "Emoji: Grinning Face",
            "\u0080": "Control",
            "\u00f6": "Latin Small Letter O With Diaeresis",
        }
        names = list(json.loads(canonical_json(value)))
        assert names == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]

    def test_escapes_only_what_ecmascript_escapes(self) -> None:
        # RFC 8785 section 3.2.4's sample, less its numbers (we sign none).
        value = json.loads(
            r'{"string": "\u20ac$\u000F\u000aA\u0027\u0042\u0022\u005c\\\"\/",'
            r' "literals": [null, true, false]}'
        )
        expected = '{"literals":[null,true,false],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
        assert canonical_json(value) == expected.encode("utf-8")

    def test_keeps_non_ascii_as_utf8(self) -> None:
        assert canonical_json({"name": "Ọ̀kọ́lọ́ 数据 é"}) == '{"name":"Ọ̀kọ́lọ́ 数据 é"}'.encode()
        assert canonical_json("\u2028\x7f") == '"\u2028\x7f"'.encode()

    def test_writes_the_short_escapes_and_lower_case_hex(self) -> None:
        assert canonical_json("\b\t\n\f\r\x00\x1f") == b'"\\b\\t\\n\\f\\r\\u0000\\u001f"'

    def test_nests_without_whitespace(self) -> None:
        value = {"b": [1, {"d": False, "c": None}], "a": -7, "": "empty"}
        assert canonical_json(value) == b'{"":"empty","a":-7,"b":[1,{"c":null,"d":false}]}'
        assert canonical_json({"flag": True, "count": 1}) == b'{"count":1,"flag":true}'

    @pytest.mark.parametrize(
        ("value", "error"),
        [
            ({"score": 4.5}, TypeError),
            (2**53, ValueError),
            ("\ud800", ValueError),
            ({1: "not a name"}, TypeError),
            ({"when": datetime(2024, 1, 1, tzinfo=UTC)}, TypeError),
        ],
        ids=["float", "unsafe integer", "lone surrogate", "non-string name", "not JSON"],
    )
    def test_refuses_what_it_cannot_canonicalize_exactly(
        self, value: object, error: type[Exception]
    ) -> None:
        with pytest.raises(error):
            canonical_json(value)


class TestBase58:
    def test_keeps_leading_zero_bytes_as_ones(self) -> None:
        assert base58btc(b"\0\0\x01") == "112"
        assert base58btc(b"") == ""
        # The classic example: "Hello World!".
        assert base58btc(b"Hello World!") == "2NEpo7TZRRrLZSi2U"
        assert b58decode(base58btc(b"\0\xff" * 20)) == b"\0\xff" * 20


# --- revocation -------------------------------------------------------------------------


class TestRevocationList:
    def test_names_each_revoked_credential_by_its_credential_id(self, settings: Settings) -> None:
        credential = signed_credential(settings, facts())
        later = ISSUED + timedelta(days=3)
        listing = revocation_list(
            settings,
            [
                RevokedCredential("CERT-ZZZZ-ZZZZ-ZZZZ-ZZZZ", None, later),
                RevokedCredential("CERT-7KQ2-M9XD-4TPA-B3HC", "Issued in error", ISSUED),
            ],
        )
        # Served where the credentials' credentialStatus points.
        assert listing["id"] == credential["credentialStatus"]["id"]
        assert listing["issuer"] == credential["issuer"]["id"]
        assert listing["revokedCredentials"] == [
            {"id": credential["id"], "revoked": True, "revocationReason": "Issued in error"},
            {"id": credential_id("CERT-ZZZZ-ZZZZ-ZZZZ-ZZZZ"), "revoked": True},
        ]

    def test_is_empty_while_nothing_is_revoked(self, settings: Settings) -> None:
        assert revocation_list(settings, [])["revokedCredentials"] == []


# --- the routes -------------------------------------------------------------------------


@pytest.fixture
def client(settings: Settings) -> TestClient:
    app = FastAPI()
    app.include_router(wellknown.router)
    # api.deps.get_state reads request.app.state.lms; these routes read only its settings.
    app.state.lms = SimpleNamespace(settings=settings)
    return TestClient(app)


class TestWellKnownRoutes:
    @pytest.mark.parametrize("path", ["/.well-known/did.json", "/did.json"])
    def test_serve_the_did_document_to_anyone(
        self, client: TestClient, settings: Settings, path: str
    ) -> None:
        answer = client.get(path)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["cache-control"] == "public, max-age=300"
        assert answer.headers["access-control-allow-origin"] == "*"
        # The bare document, not the API's envelope: resolvers read it as it is.
        assert answer.json() == did_document(settings)

    def test_serve_the_jwks_to_anyone(self, client: TestClient, settings: Settings) -> None:
        answer = client.get("/.well-known/jwks.json")
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "public, max-age=300"
        assert answer.json() == jwks(settings)

    def test_a_credential_verifies_with_the_served_key(
        self, client: TestClient, settings: Settings
    ) -> None:
        credential = signed_credential(settings, facts())
        document = client.get("/.well-known/did.json").json()
        assert verify(
            credential, published_key(document, credential["proof"][0]["verificationMethod"])
        )
