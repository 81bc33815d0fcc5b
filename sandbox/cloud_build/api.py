"""Cloud Build v1: builds that move QUEUED -> WORKING -> SUCCESS/FAILURE over time."""

from __future__ import annotations

import functools
import io
import posixpath
import re
import tarfile
import time
import uuid
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from google.cloud.devtools import cloudbuild_v1 as cb
from google.protobuf import duration_pb2
from google.protobuf.message import Message

from sandbox.artifact_registry.api import ImageRef, ImageVersion, Registry, parse_image
from sandbox.cloud_build import validation
from sandbox.cloud_build.emulator import BuiltImage, StepFailed, Workspace, run_step
from sandbox.core import errors
from sandbox.core.clock import timestamp_now
from sandbox.core.operations import OperationFailed
from sandbox.core.routing import ApiCall, Handler, Route
from sandbox.core.validation import REGIONS, paginate
from sandbox.iam import act_as
from sandbox.iam.service_accounts import AccountStore
from sandbox.secret_manager.api import SecretStore
from sandbox.storage.api import StorageStore

if TYPE_CHECKING:
    from sandbox.core.config import Config
    from sandbox.core.state import State

Build = cb.Build.pb()
Status = Build.Status
BuildOperationMetadata = cb.BuildOperationMetadata.pb()
FailureInfo = Build.FailureInfo
TERMINAL = {
    Status.SUCCESS,
    Status.FAILURE,
    Status.INTERNAL_ERROR,
    Status.TIMEOUT,
    Status.CANCELLED,
    Status.EXPIRED,
}
FAILED_MESSAGE = "Build failed; check build logs for details"


@dataclass
class StoredBuild:
    pb: Message
    start_at: float
    op_name: str = ""
    forced_failure: str | None = None

    @property
    def finished(self) -> bool:
        return self.pb.status in TERMINAL


class BuildStore:
    def __init__(self) -> None:
        self.builds: dict[str, StoredBuild] = {}

    def clear(self) -> None:
        self.builds.clear()

    def view(self, build: StoredBuild) -> Message:
        """The build as a reader sees it now: QUEUED until it starts, then WORKING."""
        out = Build()
        out.CopyFrom(build.pb)
        if not build.finished and time.time() >= build.start_at:
            out.status = Status.WORKING
            out.start_time.FromSeconds(int(build.start_at))
        return out

    def snapshot(self) -> list[dict[str, object]]:
        from sandbox.core.validation import to_json

        return [to_json(self.view(b)) for b in self.builds.values()]


def _execute(state: State, stored: StoredBuild) -> Message:
    """Complete a build: emulate its steps and, if they all pass, push its images."""
    build = stored.pb
    build.finish_time.CopyFrom(timestamp_now())
    build.start_time.FromSeconds(int(stored.start_at))
    if stored.forced_failure is not None:
        _fail(build, None, stored.forced_failure, "USER_BUILD_STEP")
        raise OperationFailed(2, FAILED_MESSAGE)
    ws = Workspace(
        storage=state.store(StorageStore), account=build.service_account.rsplit("/", 1)[-1]
    )
    _fetch_source(state, build, ws)
    secrets = _resolve_secrets(state, build)
    steps = build.steps
    for i, step in enumerate(steps):
        try:
            run_step(ws, step, list(build.options.env), secrets)
        except StepFailed as exc:
            step.status = Status.FAILURE
            detail = (
                f'Build step failure: build step {i} "{step.name}" failed: step exited with '
                f"non-zero status: 1: {exc.reason}"
            )
            _fail(build, i, detail, exc.failure_type)
            raise OperationFailed(2, FAILED_MESSAGE) from exc
        step.status = Status.SUCCESS
    pushes = [*ws.pushes, *build.images]
    resolved = []
    for uri in pushes:
        try:
            resolved.append(_check_push(state, ws, uri))
        except StepFailed as exc:
            _fail(build, None, f"failed to push image {uri}: {exc.reason}", exc.failure_type)
            raise OperationFailed(2, FAILED_MESSAGE) from exc
    build_id = build.id
    for uri, ref, image in resolved:
        version = ImageVersion(
            image.digest,
            image.dockerfile,
            image.base_image,
            image.env,
            image.model,
            build_id,
            timestamp_now(),
            tuple(image.hf_models),
        )
        state.store(Registry).push(ref, version)
        build.results.images.add(name=uri, digest=image.digest)
    build.status = Status.SUCCESS
    out = Build()
    out.CopyFrom(build)
    return out


# The sandbox holds a build's workspace in memory: a source that unpacks to more than this
# (a small gzip of zeros can) fails its fetch instead of exhausting the sandbox's memory.
# Google states no such limit; no build Hangar or its seeds run comes near it.
MAX_SOURCE_BYTES = 256 * 2**20


def _fetch_source(state: State, build: Message, ws: Workspace) -> None:
    """A storageSource is a gzipped tarball the build's /workspace starts from, as
    `gcloud builds submit DIR` uploads it
    (https://cloud.google.com/build/docs/api/reference/rest/v1/projects.builds#StorageSource)."""
    if not build.source.HasField("storage_source"):
        return
    source = build.source.storage_source
    name = source.object_
    bucket = state.store(StorageStore).buckets.get(source.bucket)
    found = bucket.objects.get(name) if bucket is not None else None
    try:
        if found is None:
            raise tarfile.TarError("the object does not exist")
        with tarfile.open(fileobj=io.BytesIO(found.data), mode="r:*") as tar:
            members = [m for m in tar.getmembers() if m.isfile()]
            if sum(m.size for m in members) > MAX_SOURCE_BYTES:
                raise tarfile.TarError(f"unpacks to more than {MAX_SOURCE_BYTES} bytes")
            for member in members:
                data = tar.extractfile(member)
                if data is not None:
                    ws.files[posixpath.normpath(member.name)] = data.read()
    # A truncated or corrupt gzip stream fails as EOFError, OSError or zlib.error, not as a
    # TarError: any of them is the build's failure, not the sandbox's (settling runs inside
    # another request, which would answer 500, and the build would never finish).
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        detail = f"failed to fetch source gs://{source.bucket}/{name}: {exc}"
        _fail(build, None, detail, "FETCH_SOURCE_FAILED")
        raise OperationFailed(2, FAILED_MESSAGE) from exc


def _resolve_secrets(state: State, build: Message) -> dict[str, str]:
    """Read availableSecrets as the build's service account, before any step runs."""
    email = build.service_account.rsplit("/", 1)[-1]
    values = {}
    for secret in build.available_secrets.secret_manager:
        problem = state.store(SecretStore).access_error(secret.version_name, email)
        if problem:
            detail = f'failed to get secret "{secret.version_name}": {problem}'
            _fail(build, None, detail, "USER_BUILD_STEP")
            raise OperationFailed(2, FAILED_MESSAGE)
        values[secret.env] = (
            state.store(SecretStore).payload(secret.version_name).decode("utf-8", "replace")
        )
    return values


def _check_push(state: State, ws: Workspace, uri: str) -> tuple[str, ImageRef, BuiltImage]:
    image = ws.images.get(uri)
    if image is None:
        raise StepFailed(
            f"An image does not exist locally with the tag: {uri}", "PUSH_IMAGE_NOT_FOUND"
        )
    ref = parse_image(uri)
    if ref is None:
        raise StepFailed(
            "the sandbox only emulates pushes to Artifact Registry "
            "(LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE[:TAG])",
            "PUSH_FAILED",
        )
    project = state.config.project
    if ref.project not in (project, state.config.project_number):
        raise StepFailed(
            f'denied: Permission "artifactregistry.repositories.uploadArtifacts" denied on '
            f'resource "{ref.repository_name}" (or it may not exist)',
            "PUSH_NOT_AUTHORIZED",
        )
    if not act_as.may_push(state, ws.account):
        raise StepFailed(
            f'denied: Permission "artifactregistry.repositories.uploadArtifacts" denied on '
            f'resource "{ref.repository_name}" (or it may not exist)',
            "PUSH_NOT_AUTHORIZED",
        )
    ref = type(ref)(ref.location, project, ref.repo, ref.image, ref.tag, ref.digest)
    if ref.repository_name not in state.store(Registry).repos:
        raise StepFailed(f'name unknown: Repository "{ref.repo}" not found', "PUSH_FAILED")
    return uri, ref, image


def _fail(build: Message, step: int | None, detail: str, failure_type: str) -> None:
    build.status = Status.FAILURE
    build.status_detail = detail
    build.failure_info.type_ = FailureInfo.FailureType.Value(failure_type)
    build.failure_info.detail = detail


def _location_of(call: ApiCall) -> str:
    if "parent" in call.fields:
        project_id = call.query.project_id
        if project_id and project_id not in (call.config.project, call.config.project_number):
            raise errors.invalid("project_id does not match parent", "project_id")
        return call.fields["parent"].split("/")[3]
    parent = call.query.parent
    if parent:
        m = re.fullmatch(r"projects/([^/]+)/locations/([^/]+)", parent)
        if not m or m.group(2) not in REGIONS:
            raise errors.invalid(f"invalid parent {parent!r}", "parent")
        return m.group(2)
    return "global"


def create_build(call: ApiCall) -> Message:
    state, cfg = call.state, call.config
    location = _location_of(call)
    build = call.body(Build())
    validation.validate(build)
    if build.service_account:
        # A build that runs as a chosen account needs actAs on it, and the account.
        email = build.service_account.rsplit("/", 1)[-1]
        act_as.check_act_as(state, email)
        if not (state.store(AccountStore).exists(email) or email in state.setup.act_as):
            raise errors.invalid(f"Service account {email} does not exist.")
    build_id = str(uuid.uuid4())
    parent = f"projects/{cfg.project}/locations/{location}"
    sa = build.service_account or (
        f"projects/{cfg.project}/serviceAccounts/{cfg.project_number}-compute@developer.gserviceaccount.com"
    )
    validation.substitute(
        build,
        {
            "PROJECT_ID": cfg.project,
            "PROJECT_NUMBER": cfg.project_number,
            "BUILD_ID": build_id,
            "LOCATION": location,
            "SERVICE_ACCOUNT": sa,
            "SERVICE_ACCOUNT_EMAIL": sa.rsplit("/", 1)[1],
        },
    )
    _queue(build, cfg, parent=parent, build_id=build_id, location=location, sa=sa)
    fault = state.faults.take("build_failure")
    delay = cfg.operation_delay
    stored = StoredBuild(
        build,
        start_at=time.time() + delay * 0.3,
        forced_failure=(fault.message or "Build failed (injected fault)") if fault else None,
    )
    state.store(BuildStore).builds[build.name] = stored
    op = call.new_operation(
        parent,
        lambda: BuildOperationMetadata(build=state.store(BuildStore).view(stored)),
        lambda: _execute(state, stored),
        on_error=functools.partial(_internal_error, build),
    )
    stored.op_name = op.name
    return op.to_pb()


def _queue(
    build: Message, cfg: Config, *, parent: str, build_id: str, location: str, sa: str
) -> None:
    """Fill in what Cloud Build sets on a queued build: its identity, defaults, QUEUED steps."""
    build.id = build_id
    build.name = f"{parent}/builds/{build_id}"
    build.project_id = cfg.project
    build.status = Status.QUEUED
    build.service_account = sa
    build.create_time.CopyFrom(timestamp_now())
    build.log_url = (
        f"https://console.cloud.google.com/cloud-build/builds;region={location}/{build_id}"
        f"?project={cfg.project_number}"
    )
    if not build.logs_bucket:
        build.logs_bucket = f"gs://{cfg.project_number}.cloudbuild-logs.googleusercontent.com"
    if not build.HasField("timeout"):
        build.timeout.CopyFrom(duration_pb2.Duration(seconds=3600))
    if not build.HasField("queue_ttl"):
        build.queue_ttl.CopyFrom(duration_pb2.Duration(seconds=3600))
    for step in build.steps:
        step.status = Status.QUEUED


def _internal_error(build: Message, code: int, message: str) -> None:
    build.status = Status.INTERNAL_ERROR
    build.status_detail = message
    build.finish_time.CopyFrom(timestamp_now())


def _build_name(call: ApiCall) -> str:
    if "name" in call.fields:
        return call.fields["name"]
    return f"projects/{call.config.project}/locations/global/builds/{call.fields['id']}"


def _stored(call: ApiCall) -> StoredBuild:
    build = call.state.store(BuildStore).builds.get(_build_name(call))
    if build is None:
        raise errors.not_found("Requested entity was not found.")
    return build


def get_build(call: ApiCall) -> Message:
    return call.state.store(BuildStore).view(_stored(call))


def cancel_build(call: ApiCall) -> Message:
    call.body(cb.CancelBuildRequest.pb()())
    stored = _stored(call)
    if stored.finished:
        raise errors.ApiError("FAILED_PRECONDITION", "Build is not in a cancellable state.")
    build = stored.pb
    build.status = Status.CANCELLED
    build.finish_time.CopyFrom(timestamp_now())
    op = call.state.operations.get(stored.op_name)
    if op is not None:
        op.on_error = None
        op.forced_error = (1, "Build was cancelled")
        op.done_at = time.time()
    return call.state.store(BuildStore).view(stored)


FILTER_TERM = re.compile(r'\s*(\w+)\s*=\s*(?:"([^"]*)"|(\S+))\s*')


def _matches(build: Message, terms: list[tuple[str, str]]) -> bool:
    for key, value in terms:
        if key == "tags" and value not in build.tags:
            return False
        if key == "status" and Status.Name(build.status) != value:
            return False
        if key in ("build_id", "id") and build.id != value:
            return False
        if key == "images" and value not in build.images:
            return False
    return True


def _parse_filter(text: str) -> list[tuple[str, str]]:
    terms = []
    for part in re.split(r"\s+AND\s+", text.strip()) if text.strip() else []:
        m = FILTER_TERM.fullmatch(part)
        if not m or m.group(1) not in ("tags", "status", "build_id", "id", "images"):
            raise errors.invalid(f"Invalid filter: {text!r}", "filter")
        terms.append((m.group(1), m.group(2) if m.group(2) is not None else m.group(3)))
    return terms


def list_builds(call: ApiCall) -> Message:
    location = _location_of(call)
    prefix = f"projects/{call.config.project}/locations/{location}/builds/"
    terms = _parse_filter(call.query.filter)
    store = call.state.store(BuildStore)
    views = [store.view(b) for n, b in store.builds.items() if n.startswith(prefix)]
    views = [v for v in views if _matches(v, terms)]
    views.reverse()  # newest first, as Cloud Build lists
    page, token = paginate(views, call.query.page_size, call.query.page_token, 25)
    return cb.ListBuildsResponse.pb()(builds=page, next_page_token=token)


# A route table, one entry per endpoint: it stays whole so it reads as one.
def routes() -> list[Route]:
    svc = "cloudbuild.googleapis.com"
    locs = REGIONS | {"global"}

    def r(
        method: str, template: str, handler: Handler, request: Any, perm: str, **kw: Any
    ) -> Route:
        return Route(method, template, handler, request.pb(), perm, svc, locs, **kw)

    regional = "/v1/{name=projects/*/locations/*/builds/*}"
    return [
        r(
            "POST",
            "/v1/{parent=projects/*/locations/*}/builds",
            create_build,
            cb.CreateBuildRequest,
            "cloudbuild.builds.create",
            body="build",
        ),
        r(
            "POST",
            "/v1/projects/{project_id}/builds",
            create_build,
            cb.CreateBuildRequest,
            "cloudbuild.builds.create",
            body="build",
        ),
        r(
            "GET",
            "/v1/{parent=projects/*/locations/*}/builds",
            list_builds,
            cb.ListBuildsRequest,
            "cloudbuild.builds.list",
        ),
        r(
            "GET",
            "/v1/projects/{project_id}/builds",
            list_builds,
            cb.ListBuildsRequest,
            "cloudbuild.builds.list",
        ),
        r(
            "POST",
            regional + ":cancel",
            cancel_build,
            cb.CancelBuildRequest,
            "cloudbuild.builds.update",
            body="*",
        ),
        r(
            "POST",
            "/v1/projects/{project_id}/builds/{id}:cancel",
            cancel_build,
            cb.CancelBuildRequest,
            "cloudbuild.builds.update",
            body="*",
        ),
        r("GET", regional, get_build, cb.GetBuildRequest, "cloudbuild.builds.get"),
        r(
            "GET",
            "/v1/projects/{project_id}/builds/{id}",
            get_build,
            cb.GetBuildRequest,
            "cloudbuild.builds.get",
        ),
    ]
