"""A build's `source.storageSource`: the tarball `gcloud builds submit DIR` uploads is its
/workspace; one that cannot be unpacked fails the build's fetch (FETCH_SOURCE_FAILED), as
Cloud Build fails it, and never the sandbox."""

from __future__ import annotations

import io
import tarfile

import pytest
import requests
from google.api_core import exceptions
from google.cloud.devtools import cloudbuild_v1

from sandbox.cloud_build.api import MAX_SOURCE_BYTES
from tests.sandbox.helpers import image_uri, wait
from tests.sandbox.kube.kubectl import access_token

PROJECT = "hangar-sandbox"
BUCKET = "hangar-sources-test"
DOCKERFILE = b"FROM ollama/ollama\nRUN ollama serve & sleep 5 && ollama pull gemma3:1b\n"


class _Zeros(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        buffer[:] = bytes(len(buffer))
        return len(buffer)


def _tarball(files: dict[str, bytes | int]) -> bytes:
    """A gzipped tarball; a file given as a number is that many zero bytes."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", compresslevel=1) as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            if isinstance(content, int):
                info.size = content
                tar.addfile(info, io.BufferedReader(_Zeros()))
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


@pytest.fixture
def upload(sandbox, sandbox_process):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {access_token(sandbox_process.url)}"
    url = sandbox_process.url
    made = session.post(
        f"{url}/storage/v1/b?project={PROJECT}",
        json={"name": BUCKET, "location": "us-central1"},
        timeout=30,
    )
    assert made.status_code == 200, made.text

    def put(name: str, data: bytes) -> None:
        done = session.post(
            f"{url}/upload/storage/v1/b/{BUCKET}/o?uploadType=media&name={name}",
            data=data,
            timeout=60,
        )
        assert done.status_code == 200, done.text

    return put


def _build(build_client, source: str, *, fails: bool) -> cloudbuild_v1.Build:
    image = image_uri()
    build = cloudbuild_v1.Build(
        source=cloudbuild_v1.Source(
            storage_source=cloudbuild_v1.StorageSource(bucket=BUCKET, object_=source)
        ),
        steps=[
            cloudbuild_v1.BuildStep(
                name="gcr.io/cloud-builders/docker", args=["build", "-t", image, "."]
            )
        ],
    )
    op = build_client.create_build(project_id=PROJECT, build=build)
    if fails:  # a failed build fails its operation; its Build says why
        with pytest.raises(exceptions.GoogleAPICallError):
            wait(op)
    else:
        wait(op)
    return build_client.get_build(project_id=PROJECT, id=op.metadata.build.id)


def test_the_source_tarball_is_the_workspace(upload, build_client):
    upload("src.tgz", _tarball({"Dockerfile": DOCKERFILE}))
    build = _build(build_client, "src.tgz", fails=False)
    assert build.status == cloudbuild_v1.Build.Status.SUCCESS, build.status_detail


@pytest.mark.parametrize(
    "damage",
    [
        lambda tgz: tgz[: len(tgz) // 2],  # truncated: the gzip stream ends early (EOFError)
        lambda tgz: tgz[:10] + b"\xff" * 40 + tgz[50:],  # a corrupt header (ReadError)
        lambda tgz: b"not a tarball at all",
    ],
    ids=["truncated", "corrupt-header", "not-a-tarball"],
)
def test_a_source_that_cannot_be_unpacked_fails_the_fetch(upload, build_client, damage):
    upload("bad.tgz", damage(_tarball({"Dockerfile": DOCKERFILE, "weights": b"w" * 100_000})))
    build = _build(build_client, "bad.tgz", fails=True)
    assert build.status == cloudbuild_v1.Build.Status.FAILURE
    failure = build.failure_info
    assert failure.type_ == cloudbuild_v1.Build.FailureInfo.FailureType.FETCH_SOURCE_FAILED


def test_a_source_that_unpacks_beyond_the_bound_fails_the_fetch(upload, build_client):
    upload("big.tgz", _tarball({"Dockerfile": DOCKERFILE, "zeros": MAX_SOURCE_BYTES + 1}))
    build = _build(build_client, "big.tgz", fails=True)
    assert build.status == cloudbuild_v1.Build.Status.FAILURE
    assert "unpacks to more than" in build.failure_info.detail
