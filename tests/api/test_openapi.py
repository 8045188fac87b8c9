"""The OpenAPI document describes every endpoint with its real schemas."""

from __future__ import annotations

from typing import Any

from api.openapi import openapi_document
from resources.registry import RESOURCES


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def test_every_operation_has_real_request_and_response_schemas() -> None:
    document = openapi_document()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            success = next((code for code in operation["responses"] if code[0] == "2"), None)
            if success is None:
                # Paystack's callback sends the browser on to the frontend.
                assert "303" in operation["responses"], (path, method)
                continue
            content = operation["responses"][success]["content"]
            if "application/json" not in content:
                # A file answers with its own bytes (GET /media/{key}).
                binary = {"type": "string", "format": "binary"}
                assert [kind["schema"] for kind in content.values()] == [binary], (path, method)
                continue
            schema = content["application/json"]["schema"]
            if "x-standard-document" in operation:
                # A standard's own document (a signed credential), bare, and saying which.
                assert operation["x-standard-document"], (path, method)
                continue
            envelope = resolve(document, schema)
            assert {"status", "data", "timestamp"} <= set(envelope["properties"]), (path, method)
            assert envelope["properties"]["data"] != {}, (path, method)
            body = operation.get("requestBody")
            if body is not None:
                # JSON, or a form for uploads.
                kinds = body["content"]
                kind = kinds.get("application/json") or kinds["multipart/form-data"]
                request = resolve(document, kind["schema"])
                assert request.get("properties") or request.get("anyOf"), (path, method)


def test_every_declared_resource_is_documented_with_its_filters() -> None:
    document = openapi_document()
    for resource in RESOURCES:
        listing = document["paths"][f"/api/data/{resource.path}"]["get"]
        names = {parameter["name"] for parameter in listing["parameters"]}
        assert {"limit", "offset", "sort", "cursor"} <= names
        assert names - {"limit", "offset", "sort", "cursor"}, resource.path
    course_create = document["components"]["schemas"]["CourseCreate"]
    assert course_create["properties"]["title"]["maxLength"] == 100
    assert "passwordHash" not in document["components"]["schemas"]["UserRead"]["properties"]


def test_error_answers_are_documented_as_envelopes() -> None:
    document = openapi_document()
    login = document["paths"]["/api/auth/user/login"]["post"]
    error = resolve(document, login["responses"]["401"]["content"]["application/json"]["schema"])
    assert set(error["properties"]) == {"status", "data", "error", "timestamp"}
