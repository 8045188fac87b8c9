"""The storage adapter: a local folder, and S3 (against moto's S3 server on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from integrations.storage import LocalStorage, S3Storage, Storage, StoredFileMissing, make_storage
from tests.conftest import base_settings, free_port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3Storage:
    # Obviously fake credentials: moto accepts any.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("s3", region_name="us-east-1", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket="lms-media")
    return S3Storage(bucket="lms-media", prefix="env/test", endpoint_url=s3_endpoint, client=client)


@pytest.fixture
def local(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "media", "http://127.0.0.1:8000/media")


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest) -> Storage:
    return request.getfixturevalue(str(request.param))  # type: ignore[no-any-return]


class TestEveryBackend:
    def test_saves_reads_replaces_and_deletes(self, storage: Storage) -> None:
        url = storage.save("courses/1/cover.png", b"\x89PNG first", content_type="image/png")
        assert url.endswith("courses/1/cover.png")
        assert storage.read("courses/1/cover.png") == b"\x89PNG first"
        storage.save("courses/1/cover.png", b"\x89PNG second", content_type="image/png")
        assert storage.read("courses/1/cover.png") == b"\x89PNG second"
        storage.delete("courses/1/cover.png")
        with pytest.raises(StoredFileMissing):
            storage.read("courses/1/cover.png")
        storage.delete("courses/1/cover.png")  # deleting twice is fine

    @pytest.mark.parametrize("key", ["../escape.txt", "/etc/passwd", "a/../../b", ""])
    def test_keys_cannot_leave_the_storage(self, storage: Storage, key: str) -> None:
        with pytest.raises(ValueError, match="not a storage key"):
            storage.save(key, b"x", content_type="text/plain")

    def test_a_url_it_made_leads_back_to_its_key(self, storage: Storage) -> None:
        url = storage.save("courses/3/a.pdf", b"%PDF-1.4", content_type="application/pdf")
        assert storage.key_for(url) == "courses/3/a.pdf"
        for foreign in ("https://cdn.example.com/courses/3/a.pdf", url + "/../../etc/passwd"):
            assert storage.key_for(foreign) is None
        storage.delete("courses/3/a.pdf")


def test_s3_keys_live_under_the_prefix(s3: S3Storage) -> None:
    s3.save("certificates/abc.pdf", b"%PDF-1.7", content_type="application/pdf")
    listed = s3.client.list_objects_v2(Bucket="lms-media")["Contents"]
    assert [item["Key"] for item in listed] == ["env/test/certificates/abc.pdf"]
    head = s3.client.head_object(Bucket="lms-media", Key="env/test/certificates/abc.pdf")
    assert head["ContentType"] == "application/pdf"
    assert s3.url("certificates/abc.pdf").endswith("/lms-media/env/test/certificates/abc.pdf")


def test_local_files_land_under_var_and_are_served_from_media(local: LocalStorage) -> None:
    url = local.save("courses/2/notes.pdf", b"%PDF", content_type="application/pdf")
    assert url == "http://127.0.0.1:8000/media/courses/2/notes.pdf"
    assert (local.root / "courses/2/notes.pdf").read_bytes() == b"%PDF"
    assert not list(local.root.rglob(".upload-*"))


def test_settings_choose_the_backend(tmp_path: Path) -> None:
    assert isinstance(make_storage(base_settings(tmp_path, "sqlite:///x.db")), LocalStorage)
    settings = base_settings(
        tmp_path,
        "sqlite:///x.db",
        storage={"backend": "s3", "s3_bucket": "b", "s3_endpoint_url": "http://127.0.0.1:9"},
    )
    assert isinstance(make_storage(settings), S3Storage)
