"""Artifact Registry: the Docker repository Hangar's images live in."""

import json
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import artifactregistry_v1

from gcp.clients import NO_RETRY, call_timeout, make_client
from gcp.operations import OperationState, operation_state


def _client() -> Any:
    return make_client(artifactregistry_v1.ArtifactRegistryClient)


def create_repository(*, parent: str, repository_id: str, body: dict[str, Any]) -> str | None:
    """Start creating the repository; None if it already exists, else the operation name."""
    repository = artifactregistry_v1.Repository.from_json(json.dumps(body))
    try:
        operation = _client().create_repository(
            parent=parent,
            repository_id=repository_id,
            repository=repository,
            retry=NO_RETRY,
            timeout=call_timeout(),
        )
    except (gexc.AlreadyExists, gexc.Conflict):  # over REST, ALREADY_EXISTS arrives as a 409
        return None
    return str(operation.operation.name)


def get_operation(name: str) -> OperationState:
    return operation_state(
        _client().get_operation(request={"name": name}, retry=NO_RETRY, timeout=call_timeout())
    )


def delete_package(name: str) -> str | None:
    """Start deleting an image with all its versions; None if it is already gone."""
    try:
        operation = _client().delete_package(name=name, retry=NO_RETRY, timeout=call_timeout())
    except gexc.NotFound:
        return None
    return str(operation.operation.name)
