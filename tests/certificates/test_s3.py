"""Certificates on S3 (moto's S3 server on loopback): the PDF is stored under the bucket's
prefix, named by the certificate alone, and served through our own download route, never
by a bucket URL. One database backend is enough: what is tested is the store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient
from moto.server import ThreadedMotoServer
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.app import create_app
from core.settings import Settings
from models import Certificate
from tests.api.helpers import data
from tests.certificates.test_api import CONTRACT_HEADERS, auth, issue, open_school, pdf_text
from tests.fakes.server import free_port

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

BUCKET = "lms-certificates"
PREFIX = "env/test"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An empty bucket, and a client to look into it. Obviously fake credentials: moto
    accepts any (the app's boto3 client reads them from the environment too)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    client = boto3.client("s3", region_name="us-east-1", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket=BUCKET)
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


@pytest.fixture
def s3_client(settings: Settings, s3_endpoint: str, bucket: Any) -> Iterator[TestClient]:
    storage = settings.storage.model_copy(
        update={
            "backend": "s3",
            "s3_bucket": BUCKET,
            "s3_prefix": PREFIX,
            "s3_endpoint_url": s3_endpoint,
        }
    )
    with TestClient(create_app(settings.model_copy(update={"storage": storage}))) as client:
        yield client


def keys(bucket: Any) -> list[str]:
    return [item["Key"] for item in bucket.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


class TestCertificatesOnS3:
    def test_the_pdf_is_stored_under_the_prefix_and_downloaded_through_our_url(
        self,
        s3_client: TestClient,
        session: Session,
        settings: Settings,
        s3_endpoint: str,
        bucket: Any,
    ) -> None:
        school = open_school(session)
        issued = issue(s3_client, session, school.learner, school.free)
        public = settings.app.public_url.rstrip("/")
        assert issued["certificateUrl"] == (
            f"{public}/api/certificates/{issued['certificateId']}/download"
        )
        assert s3_endpoint not in issued["certificateUrl"]
        assert BUCKET not in issued["certificateUrl"]

        unique_id = session.scalars(select(Certificate.unique_id)).one()
        key = f"{PREFIX}/certificates/{unique_id}/r1.pdf"
        assert keys(bucket) == [key]
        stored = bucket.get_object(Bucket=BUCKET, Key=key)
        assert stored["ContentType"] == "application/pdf"
        pdf = stored["Body"].read()

        response = s3_client.get(
            f"/api/certificates/{issued['certificateId']}/download",
            headers=auth(session, school.learner),
        )
        assert response.status_code == 200
        for name, value in CONTRACT_HEADERS.items():
            assert response.headers[name] == value
        assert response.content == pdf
        assert unique_id in pdf_text(response.content)

    def test_a_reissue_replaces_the_file_by_its_next_revision(
        self, s3_client: TestClient, session: Session, bucket: Any
    ) -> None:
        school = open_school(session)
        certificate_id = issue(s3_client, session, school.learner, school.free)["certificateId"]
        unique_id = session.scalars(select(Certificate.unique_id)).one()
        data(
            s3_client.post(
                f"/api/certificates/{certificate_id}/reissue",
                json={"learnerName": "Augusta Ada King"},
                headers=auth(session, school.admin),
            )
        )
        [key] = keys(bucket)  # the first revision's file is gone
        assert key.startswith(f"{PREFIX}/certificates/{unique_id}/r2-")
        assert key.endswith(".pdf")
        response = s3_client.get(
            f"/api/certificates/{certificate_id}/download", headers=auth(session, school.learner)
        )
        assert response.status_code == 200
        assert "Augusta Ada King" in pdf_text(response.content)
