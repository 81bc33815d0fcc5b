"""Cloud Storage JSON API requests the sandbox parses by hand (uploads, bucket listing):
what Cloud Storage refuses is a 400 in its error shape, never the sandbox's 500."""

from __future__ import annotations

import pytest
import requests

from tests.sandbox.kube.kubectl import access_token

PROJECT = "hangar-sandbox"
BUCKET = "hangar-uploads-test"


@pytest.fixture
def gcs(sandbox, sandbox_process):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {access_token(sandbox_process.url)}"
    made = session.post(
        f"{sandbox_process.url}/storage/v1/b?project={PROJECT}",
        json={"name": BUCKET, "location": "us-central1"},
        timeout=30,
    )
    assert made.status_code == 200, made.text
    return session, sandbox_process.url


def _multipart(metadata: bytes, media: bytes) -> bytes:
    return (
        b"--xx\r\nContent-Type: application/json\r\n\r\n" + metadata + b"\r\n"
        b"--xx\r\nContent-Type: text/plain\r\n\r\n" + media + b"\r\n--xx--\r\n"
    )


def _upload(gcs, body: bytes, query: str = "uploadType=multipart") -> requests.Response:
    session, url = gcs
    return session.post(
        f"{url}/upload/storage/v1/b/{BUCKET}/o?{query}",
        data=body,
        headers={"Content-Type": "multipart/related; boundary=xx"},
        timeout=30,
    )


def test_a_multipart_upload_stores_the_media_under_the_metadatas_name(gcs):
    done = _upload(gcs, _multipart(b'{"name": "dir/file.txt"}', b"hello"))
    assert done.status_code == 200, done.text
    assert (done.json()["name"], done.json()["size"]) == ("dir/file.txt", "5")


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        (b"[1, 2]", "invalid"),  # the object resource is a JSON object
        (b'"name"', "invalid"),
        (b"{not json", "parseError"),
        (b"{}", "required"),
        (b'{"name": "a\\nb"}', "invalid"),  # no line feed in an object name
        (b'{"name": ".."}', "invalid"),
        (b'{"name": "' + b"x" * 1025 + b'"}', "invalid"),  # at most 1024 bytes
        (b'{"name": 7}', "invalid"),
    ],
)
def test_a_multipart_upload_cloud_storage_refuses_is_a_400(gcs, metadata, reason):
    done = _upload(gcs, _multipart(metadata, b"hello"))
    assert done.status_code == 400, done.text
    assert done.json()["error"]["errors"][0]["reason"] == reason


def test_a_media_upload_names_its_object_within_the_rules(gcs):
    assert _upload(gcs, b"x", "uploadType=media&name=ok.txt").status_code == 200
    refused = _upload(gcs, b"x", "uploadType=media&name=.well-known/acme-challenge/t")
    assert refused.status_code == 400, refused.text


def test_listing_or_making_buckets_requires_the_project(gcs):
    session, url = gcs
    for method in ("GET", "POST"):
        done = session.request(method, f"{url}/storage/v1/b", json={"name": "x-y-z"}, timeout=30)
        assert done.status_code == 400, done.text
        assert done.json()["error"]["message"] == "Required parameter: project"
        assert done.json()["error"]["errors"][0]["reason"] == "required"
    listed = session.get(f"{url}/storage/v1/b?project={PROJECT}", timeout=30).json()
    assert [b["name"] for b in listed["items"]] == [BUCKET]
    other = session.get(f"{url}/storage/v1/b?project=someone-else", timeout=30)
    assert other.status_code == 403
