"""A bounded schemathesis run over every operation of the API, as a student, an instructor
and an admin, on each database backend: no answer is a server error, every answer is one the
OpenAPI document declares (status code, content type, headers, body schema), and a request
the document calls invalid is refused.

``make fuzz`` runs it (``make test`` leaves tests/fuzz out: see pyproject.toml). The data is
derandomized from a fixed seed, so a failure in CI reproduces locally with the same command.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.openapi import openapi_document
from tests.fuzz.conftest import ACTORS, FuzzPlatform

pytestmark = pytest.mark.fuzz

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 1100,
        # The coverage phase sends each operation's boundary and invalid values (most of
        # the run's cases); the fuzzing phase adds a few random ones per operation. No
        # example database: the same cases on every machine, nothing written to the tree.
        "generation": {"max-examples": 8, "deterministic": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
    }
)
DOCUMENT = openapi_document()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# Calls that end sessions or change the caller's own account: a throwaway account makes
# them, so the run's accounts stay signed in and unchanged.
SELF_CHANGING = {
    ("POST", "/api/auth/user/logout"),
    ("POST", "/api/auth/user/password"),
    ("PUT", "/api/auth/user/profile"),
}
DATA_PREFIX = "/api/data/"
# The rows the data API deletes: /api/data/<resource>/{item_id} paths with a DELETE.
DELETABLE = {path for path, operations in DOCUMENT["paths"].items() if "delete" in operations}
USERS = "/api/data/users/{item_id}"


def _resource(path: str) -> str:
    return path.removeprefix(DATA_PREFIX).split("/", 1)[0]


def _destructive(method: str, path: str) -> bool:
    """A delete of any row, or a change of an account (its role, its activity)."""
    return path in DELETABLE and (method == "DELETE" or (method == "PATCH" and path == USERS))


def _point_at_own_rows(case: Any, platform: FuzzPlatform, actor: str) -> dict[str, str]:
    """The headers to send, after pointing a destructive case at a row made for it."""
    # The method sent, which the coverage phase may take from outside the operation.
    method, path = case.method.upper(), case.path
    if (method, path) in SELF_CHANGING:
        return platform.throwaway_headers(actor)
    # Any id the app would read as a row's (an int, or digits as text in a negative case).
    if _destructive(method, path) and str(case.path_parameters.get("item_id")).isdigit():
        case.path_parameters["item_id"] = platform.fresh_row(_resource(path))
    return platform.headers(actor)


@pytest.mark.parametrize("actor", ACTORS)
@schema.parametrize()
def test_api(case: Any, actor: str, platform: FuzzPlatform) -> None:
    headers = _point_at_own_rows(case, platform, actor)
    case.call_and_validate(app=platform.app, headers=headers, checks=CHECKS)
