"""Calling a deployed model server the way any client of the private endpoint must: with
the credential its target declares (workers/gcp/endpoint_credentials.py)."""

from dataclasses import dataclass
from typing import Any

import requests

from workers.gcp.endpoint_credentials import upstream_headers_now


@dataclass(frozen=True)
class EndpointReply:
    status: int
    body: Any
    text: str


def post_json(
    *, address: str, credential: str, path: str, body: dict[str, Any], timeout: float
) -> EndpointReply:
    response = requests.post(
        address.rstrip("/") + path,
        json=body,
        headers=upstream_headers_now(credential=credential, endpoint_url=address),
        timeout=timeout,
    )
    return _reply(response)


def get(*, address: str, credential: str, path: str, timeout: float) -> EndpointReply:
    """A GET, e.g. vLLM's /health."""
    response = requests.get(
        address.rstrip("/") + path,
        headers=upstream_headers_now(credential=credential, endpoint_url=address),
        timeout=timeout,
    )
    return _reply(response)


def _reply(response: requests.Response) -> EndpointReply:
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    return EndpointReply(status=response.status_code, body=parsed, text=response.text[:500])
