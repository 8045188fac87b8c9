"""Page sizes: one rule for every paged answer (the data API, the catalog, the inbox)."""

from __future__ import annotations

import pytest

from core.settings import ApiSettings

API = ApiSettings(default_page_size=20, max_page_size=100)


class TestPageSize:
    @pytest.mark.parametrize(
        ("requested", "size"), [(None, 20), (1, 1), (20, 20), (100, 100), (101, 100), (10**6, 100)]
    )
    def test_is_the_default_or_the_request_capped_at_the_maximum(
        self, requested: int | None, size: int
    ) -> None:
        assert API.page_size(requested) == size

    def test_follows_the_settings(self) -> None:
        assert ApiSettings(default_page_size=5, max_page_size=8).page_size(None) == 5
        assert ApiSettings(default_page_size=5, max_page_size=8).page_size(50) == 8
