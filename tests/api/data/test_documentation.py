"""The documented query parameters of the generated routes: a list takes paging and filters,
its count the same filters and no paging."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic.alias_generators import to_camel

from api.data.router import ResourceRoutes
from api.openapi import openapi_document
from resources import Resource
from resources.registry import RESOURCES

PAGING = ["limit", "offset", "sort", "cursor"]
REGISTRY = {resource.table_name: resource for resource in RESOURCES}


def names(parameters: list[dict[str, Any]]) -> list[str]:
    return [parameter["name"] for parameter in parameters]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document()


class TestQueryParameters:
    @pytest.mark.parametrize("resource", RESOURCES, ids=lambda resource: resource.path)
    def test_paging_and_filters_are_apart(self, resource: Resource) -> None:
        routes = ResourceRoutes(resource, REGISTRY)
        assert names(routes.paging_parameters()) == PAGING
        filters = [to_camel(name) for name in sorted(resource.filter_fields)]
        assert names(routes.filter_parameters()) == filters

    @pytest.mark.parametrize("resource", RESOURCES, ids=lambda resource: resource.path)
    def test_the_count_takes_the_lists_filters_and_no_paging(
        self, resource: Resource, document: dict[str, Any]
    ) -> None:
        listing = document["paths"][f"/api/data/{resource.path}"]["get"]["parameters"]
        count = document["paths"][f"/api/data/{resource.path}/count"]["get"]["parameters"]
        assert names(listing) == PAGING + names(count)
        assert not set(PAGING) & set(names(count))
