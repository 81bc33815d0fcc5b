"""Cloud Build: start an inline build (no source upload), find it again, follow it."""

import json
from dataclasses import dataclass
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud.devtools import cloudbuild_v1

from gcp.clients import NO_RETRY, call_timeout, make_client

Status = cloudbuild_v1.Build.Status
FAILED_STATUSES = {
    Status.FAILURE,
    Status.INTERNAL_ERROR,
    Status.TIMEOUT,
    Status.CANCELLED,
    Status.EXPIRED,
}


@dataclass(frozen=True)
class BuildState:
    name: str
    status: str
    done: bool
    succeeded: bool
    detail: str
    log_url: str
    images: list[dict[str, str]]


def _client() -> Any:
    return make_client(cloudbuild_v1.CloudBuildClient)


def _state(build: Any) -> BuildState:
    status = Status(build.status)
    return BuildState(
        name=build.name,
        status=status.name,
        done=status == Status.SUCCESS or status in FAILED_STATUSES,
        succeeded=status == Status.SUCCESS,
        detail=build.status_detail,
        log_url=build.log_url,
        images=[{"name": i.name, "digest": i.digest} for i in build.results.images],
    )


def create_build(*, parent: str, body: dict[str, Any]) -> BuildState:
    build = cloudbuild_v1.Build.from_json(json.dumps(body))
    operation = _client().create_build(
        request=cloudbuild_v1.CreateBuildRequest(parent=parent, build=build),
        retry=NO_RETRY,
        timeout=call_timeout(),
    )
    return _state(operation.metadata.build)


def find_builds(*, parent: str, tag: str) -> list[BuildState]:
    """The builds carrying `tag` that have not failed, newest first."""
    pager = _client().list_builds(
        request=cloudbuild_v1.ListBuildsRequest(parent=parent, filter=f'tags="{tag}"'),
        retry=NO_RETRY,
        timeout=call_timeout(),
    )
    return [b for b in (_state(b) for b in pager) if not (b.done and not b.succeeded)]


def find_build(*, parent: str, tag: str) -> BuildState | None:
    """The oldest build carrying `tag` that has not failed, if any: the first one started
    is the one a rollout follows, whichever request reached Cloud Build first."""
    builds = find_builds(parent=parent, tag=tag)
    return builds[-1] if builds else None


def get_build(name: str) -> BuildState:
    return _state(
        _client().get_build(request={"name": name}, retry=NO_RETRY, timeout=call_timeout())
    )


def cancel_build(name: str) -> None:
    try:
        _client().cancel_build(request={"name": name}, retry=NO_RETRY, timeout=call_timeout())
    except gexc.NotFound:
        return
