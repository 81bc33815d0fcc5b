"""Calling a deployed model server the way any client of the private service must."""

from dataclasses import dataclass
from typing import Any

import requests

from workers.gcp.id_tokens import id_token_for


@dataclass(frozen=True)
class EndpointReply:
    status: int
    body: Any
    text: str


def post_json(
    *, service_uri: str, path: str, body: dict[str, Any], timeout: float
) -> EndpointReply:
    """POST with an ID token whose audience is the service URL (Cloud Run's rule)."""
    response = requests.post(
        service_uri.rstrip("/") + path,
        json=body,
        headers={"Authorization": f"Bearer {id_token_for(service_uri)}"},
        timeout=timeout,
    )
    return _reply(response)


def get(*, service_uri: str, path: str, timeout: float) -> EndpointReply:
    """GET with an ID token, e.g. vLLM's /health."""
    response = requests.get(
        service_uri.rstrip("/") + path,
        headers={"Authorization": f"Bearer {id_token_for(service_uri)}"},
        timeout=timeout,
    )
    return _reply(response)


def _reply(response: requests.Response) -> EndpointReply:
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    return EndpointReply(status=response.status_code, body=parsed, text=response.text[:500])
