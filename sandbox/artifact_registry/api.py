"""Artifact Registry v1: Docker repositories and the images Cloud Build pushes into them."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from google.cloud import artifactregistry_v1 as ar
from google.protobuf import empty_pb2, timestamp_pb2
from google.protobuf.message import Message

from sandbox.core import errors
from sandbox.core.clock import timestamp_now
from sandbox.core.routing import ApiCall, Handler, Route
from sandbox.core.validation import MULTI_REGIONS, REGIONS, paginate

if TYPE_CHECKING:
    from sandbox.core.state import State

Repository = ar.Repository.pb()
Package = ar.Package.pb()
DockerImage = ar.DockerImage.pb()
Version = ar.Version.pb()
Tag = ar.Tag.pb()
OperationMetadata = ar.OperationMetadata.pb()

REPOSITORY_ID = re.compile(r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?")
IMAGE_URI = re.compile(
    r"(?P<location>[a-z0-9-]+)-docker\.pkg\.dev/(?P<project>[^/]+)/(?P<repo>[^/]+)/"
    r"(?P<image>[a-z0-9]+(?:[._/-][a-z0-9]+)*)"
    r"(?::(?P<tag>\w[\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?"
)


@dataclass
class ImageVersion:
    digest: str
    dockerfile: str
    base_image: str
    env: dict[str, str]
    model: str | None
    build_id: str
    created: timestamp_pb2.Timestamp
    # Hugging Face repos downloaded into the image (its Hugging Face cache).
    hf_models: tuple[str, ...] = ()


@dataclass
class StoredPackage:
    image: str
    created: timestamp_pb2.Timestamp
    updated: timestamp_pb2.Timestamp
    versions: dict[str, ImageVersion] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class StoredRepository:
    pb: Message
    packages: dict[str, StoredPackage] = field(default_factory=dict)


@dataclass(frozen=True)
class ImageRef:
    location: str
    project: str
    repo: str
    image: str
    tag: str | None
    digest: str | None

    @property
    def repository_name(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/repositories/{self.repo}"


def parse_image(uri: str) -> ImageRef | None:
    m = IMAGE_URI.fullmatch(uri)
    if not m:
        return None
    return ImageRef(m["location"], m["project"], m["repo"], m["image"], m["tag"], m["digest"])


class Registry:
    def __init__(self) -> None:
        self.repos: dict[str, StoredRepository] = {}

    def clear(self) -> None:
        self.repos.clear()

    def resolve(self, uri: str, project: str) -> tuple[ImageRef, ImageVersion] | None:
        """The stored version an image reference points at, if any."""
        ref = parse_image(uri)
        if ref is None or ref.project != project:
            return None
        repo = self.repos.get(ref.repository_name)
        pkg = repo.packages.get(ref.image) if repo else None
        if pkg is None:
            return None
        digest = ref.digest or pkg.tags.get(ref.tag or "latest")
        version = pkg.versions.get(digest or "")
        return (ref, version) if version else None

    def push(self, ref: ImageRef, version: ImageVersion) -> None:
        repo = self.repos[ref.repository_name]
        stamp = timestamp_now()
        pkg = repo.packages.get(ref.image)
        if pkg is None:
            pkg = repo.packages[ref.image] = StoredPackage(ref.image, stamp, stamp)
        pkg.updated = stamp
        pkg.versions.setdefault(version.digest, version)
        pkg.tags[ref.tag or "latest"] = version.digest
        repo.pb.update_time.CopyFrom(stamp)

    def snapshot(self) -> list[dict[str, object]]:
        from sandbox.core.validation import to_json

        out: list[dict[str, object]] = []
        for repo in self.repos.values():
            item = to_json(repo.pb)
            item["packages"] = [
                {
                    "image": p.image,
                    "versions": {
                        d: {"model": v.model, "baseImage": v.base_image, "buildId": v.build_id}
                        for d, v in p.versions.items()
                    },
                    "tags": dict(p.tags),
                }
                for p in repo.packages.values()
            ]
            out.append(item)
        return out


def _repo(state: State, name: str) -> StoredRepository:
    repo = state.store(Registry).repos.get(name)
    if repo is None:
        raise errors.not_found("Requested entity was not found.")
    return repo


def _package(state: State, name: str) -> tuple[StoredRepository, StoredPackage]:
    repo_name, _, image = name.partition("/packages/")
    repo = _repo(state, repo_name)
    pkg = repo.packages.get(image)
    if pkg is None:
        raise errors.not_found("Requested entity was not found.")
    return repo, pkg


def _quoted(image: str) -> str:
    return urllib.parse.quote(image, safe="")


def _package_pb(repo_name: str, pkg: StoredPackage) -> Message:
    msg = Package(name=f"{repo_name}/packages/{_quoted(pkg.image)}", display_name=pkg.image)
    msg.create_time.CopyFrom(pkg.created)
    msg.update_time.CopyFrom(pkg.updated)
    return msg


def _docker_images(repo_name: str, pkg: StoredPackage) -> list[Message]:
    location = repo_name.split("/")[3]
    project = repo_name.split("/")[1]
    repo_id = repo_name.rsplit("/", 1)[1]
    images = []
    for digest, version in pkg.versions.items():
        tags = sorted(t for t, d in pkg.tags.items() if d == digest)
        msg = DockerImage(
            name=f"{repo_name}/dockerImages/{_quoted(pkg.image)}@{digest}",
            uri=f"{location}-docker.pkg.dev/{project}/{repo_id}/{pkg.image}@{digest}",
            tags=tags,
            image_size_bytes=len(version.dockerfile) + 1024,
            media_type="application/vnd.docker.distribution.manifest.v2+json",
        )
        for ts in (msg.upload_time, msg.build_time, msg.update_time):
            ts.CopyFrom(version.created)
        images.append(msg)
    return images


def create_repository(call: ApiCall) -> Message:
    parent = call.fields["parent"]
    repo_id = call.query.repository_id
    if not repo_id:
        raise errors.invalid("repository_id is required", "repository_id")
    if not REPOSITORY_ID.fullmatch(repo_id):
        raise errors.invalid(
            f'Invalid repository id "{repo_id}": repository ids must start with a lowercase '
            "letter, contain only lowercase letters, numbers and hyphens, end with a letter or "
            "number, and be at most 63 characters long.",
            "repository_id",
        )
    repo = call.body(Repository())
    if repo.format_ == Repository.Format.FORMAT_UNSPECIFIED:
        raise errors.invalid("Repository format must be specified.", "repository.format")
    if repo.format_ != Repository.Format.DOCKER:
        raise errors.invalid("The sandbox only hosts DOCKER repositories.", "repository.format")
    if repo.mode not in (0, Repository.Mode.STANDARD_REPOSITORY):
        raise errors.invalid("The sandbox only hosts standard repositories.", "repository.mode")
    name = f"{parent}/repositories/{repo_id}"
    state = call.state
    if name in state.store(Registry).repos:
        raise errors.ApiError("ALREADY_EXISTS", "the repository already exists")
    location = parent.split("/")[3]
    repo.name = name
    repo.mode = Repository.Mode.STANDARD_REPOSITORY
    repo.registry_uri = f"{location}-docker.pkg.dev/{call.config.project}/{repo_id}"
    stamp = timestamp_now()
    repo.create_time.CopyFrom(stamp)
    repo.update_time.CopyFrom(stamp)
    state.store(Registry).repos[name] = StoredRepository(repo)
    snapshot = Repository()
    snapshot.CopyFrom(repo)
    return call.new_operation(parent, OperationMetadata, lambda: snapshot).to_pb()


def get_repository(call: ApiCall) -> Message:
    return _repo(call.state, call.fields["name"]).pb


def list_repositories(call: ApiCall) -> Message:
    parent = call.fields["parent"] + "/repositories/"
    repos = [
        r.pb for n, r in sorted(call.state.store(Registry).repos.items()) if n.startswith(parent)
    ]
    page, token = paginate(repos, call.query.page_size, call.query.page_token, 1000)
    return ar.ListRepositoriesResponse.pb()(repositories=page, next_page_token=token)


def delete_repository(call: ApiCall) -> Message:
    name = call.fields["name"]
    _repo(call.state, name)
    del call.state.store(Registry).repos[name]
    parent = name.rsplit("/repositories/", 1)[0]
    return call.new_operation(parent, OperationMetadata, empty_pb2.Empty).to_pb()


def list_packages(call: ApiCall) -> Message:
    parent = call.fields["parent"]
    repo = _repo(call.state, parent)
    pkgs = [_package_pb(parent, p) for _, p in sorted(repo.packages.items())]
    page, token = paginate(pkgs, call.query.page_size, call.query.page_token)
    return ar.ListPackagesResponse.pb()(packages=page, next_page_token=token)


def get_package(call: ApiCall) -> Message:
    name = call.fields["name"]
    _, pkg = _package(call.state, name)
    return _package_pb(name.partition("/packages/")[0], pkg)


def delete_package(call: ApiCall) -> Message:
    name = call.fields["name"]
    repo, pkg = _package(call.state, name)
    del repo.packages[pkg.image]
    parent = name.split("/repositories/")[0]
    return call.new_operation(parent, OperationMetadata, empty_pb2.Empty).to_pb()


def list_docker_images(call: ApiCall) -> Message:
    parent = call.fields["parent"]
    repo = _repo(call.state, parent)
    images = [img for _, p in sorted(repo.packages.items()) for img in _docker_images(parent, p)]
    page, token = paginate(images, call.query.page_size, call.query.page_token)
    return ar.ListDockerImagesResponse.pb()(docker_images=page, next_page_token=token)


def get_docker_image(call: ApiCall) -> Message:
    name = call.fields["name"]
    parent, _, ident = name.partition("/dockerImages/")
    repo = _repo(call.state, parent)
    for pkg in repo.packages.values():
        for img in _docker_images(parent, pkg):
            if urllib.parse.unquote(img.name) == f"{parent}/dockerImages/{ident}":
                return img
    raise errors.not_found("Requested entity was not found.")


def list_tags(call: ApiCall) -> Message:
    parent = call.fields["parent"]
    _, pkg = _package(call.state, parent)
    quoted = parent.partition("/packages/")[0] + "/packages/" + _quoted(pkg.image)
    tags = [
        Tag(name=f"{quoted}/tags/{t}", version=f"{quoted}/versions/{d}")
        for t, d in sorted(pkg.tags.items())
    ]
    page, token = paginate(tags, call.query.page_size, call.query.page_token)
    return ar.ListTagsResponse.pb()(tags=page, next_page_token=token)


def list_versions(call: ApiCall) -> Message:
    parent = call.fields["parent"]
    _, pkg = _package(call.state, parent)
    quoted = parent.partition("/packages/")[0] + "/packages/" + _quoted(pkg.image)
    versions = []
    for digest, version in pkg.versions.items():
        msg = Version(name=f"{quoted}/versions/{digest}")
        msg.create_time.CopyFrom(version.created)
        msg.update_time.CopyFrom(version.created)
        versions.append(msg)
    page, token = paginate(versions, call.query.page_size, call.query.page_token)
    return ar.ListVersionsResponse.pb()(versions=page, next_page_token=token)


# A route table, one entry per endpoint: it stays whole so it reads as one.
def routes() -> list[Route]:
    svc = "artifactregistry.googleapis.com"
    locs = REGIONS | MULTI_REGIONS
    base = "/v1/{%s=projects/*/locations/*/repositories/*}"
    pkg = "/v1/{%s=projects/*/locations/*/repositories/*/packages/*}"

    def r(
        method: str, template: str, handler: Handler, request: Any, perm: str, **kw: Any
    ) -> Route:
        return Route(method, template, handler, request.pb(), perm, svc, locs, **kw)

    return [
        r(
            "POST",
            "/v1/{parent=projects/*/locations/*}/repositories",
            create_repository,
            ar.CreateRepositoryRequest,
            "artifactregistry.repositories.create",
            body="repository",
            creates=("repositories", "repositoryId"),
        ),
        r(
            "GET",
            "/v1/{parent=projects/*/locations/*}/repositories",
            list_repositories,
            ar.ListRepositoriesRequest,
            "artifactregistry.repositories.list",
        ),
        r(
            "GET",
            base % "name",
            get_repository,
            ar.GetRepositoryRequest,
            "artifactregistry.repositories.get",
        ),
        r(
            "DELETE",
            base % "name",
            delete_repository,
            ar.DeleteRepositoryRequest,
            "artifactregistry.repositories.delete",
        ),
        r(
            "GET",
            (base % "parent") + "/packages",
            list_packages,
            ar.ListPackagesRequest,
            "artifactregistry.packages.list",
        ),
        r("GET", pkg % "name", get_package, ar.GetPackageRequest, "artifactregistry.packages.get"),
        r(
            "DELETE",
            pkg % "name",
            delete_package,
            ar.DeletePackageRequest,
            "artifactregistry.packages.delete",
        ),
        r(
            "GET",
            (pkg % "parent") + "/tags",
            list_tags,
            ar.ListTagsRequest,
            "artifactregistry.tags.list",
        ),
        r(
            "GET",
            (pkg % "parent") + "/versions",
            list_versions,
            ar.ListVersionsRequest,
            "artifactregistry.versions.list",
        ),
        r(
            "GET",
            (base % "parent") + "/dockerImages",
            list_docker_images,
            ar.ListDockerImagesRequest,
            "artifactregistry.dockerimages.list",
        ),
        r(
            "GET",
            "/v1/{name=projects/*/locations/*/repositories/*/dockerImages/*}",
            get_docker_image,
            ar.GetDockerImageRequest,
            "artifactregistry.dockerimages.get",
        ),
    ]
