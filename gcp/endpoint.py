"""Calling a deployed model server the way any client of the private endpoint must: with
the credential its target declares (gcp/endpoint_credentials.py).

A redirect is followed only on the endpoint's own origin: the request carries the portal's
credential, which must never reach another host (OWASP SSRF prevention: re-validate each
hop, or do not follow). A reply is read to a bound, and a failing one is kept only as a
short excerpt of its body's message (no headers, echoed credentials redacted) before it
reaches an event, a log or a person.
"""

import functools
import json
import tempfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from gcp.endpoint_credentials import (
    upstream_headers_now,
    upstream_trust_now,
    vpc_proxy_for,
)
from gcp.text import clean_text, error_text

# A chat or health reply is small; an endpoint that sends more is not read further.
MAX_REPLY_BYTES = 1 << 20
MAX_REDIRECTS = 3
REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class EndpointReply:
    status: int
    body: Any
    # For a failing reply: a short, cleaned excerpt of what the endpoint said.
    text: str


def post_json(
    *,
    address: str,
    credential: str,
    path: str,
    body: dict[str, Any],
    timeout: float,
    headers: dict[str, str] | None = None,
) -> EndpointReply:
    return _send("POST", address, credential, path, timeout, body, headers)


def get(
    *,
    address: str,
    credential: str,
    path: str,
    timeout: float,
    headers: dict[str, str] | None = None,
) -> EndpointReply:
    """A GET, e.g. vLLM's /health."""
    return _send("GET", address, credential, path, timeout, None, headers)


def get_text(*, address: str, credential: str, path: str, timeout: float) -> tuple[int, str]:
    """A GET whose reply is text, e.g. vLLM's Prometheus /metrics: (status, text) read to
    MAX_REPLY_BYTES. No redirect is followed (a metrics page has no reason to move)."""
    headers = upstream_headers_now(credential=credential, endpoint_url=address)
    response = requests.get(
        address.rstrip("/") + path,
        headers=headers,
        timeout=timeout,
        allow_redirects=False,
        stream=True,
        verify=_verify(credential, address),
        proxies=_proxies(address),
    )
    with response:
        raw = response.raw.read(MAX_REPLY_BYTES + 1, decode_content=True)
    if len(raw) > MAX_REPLY_BYTES:
        return response.status_code, ""
    return response.status_code, raw.decode("utf-8", "replace")


def _verify(credential: str, address: str) -> str | bool:
    """What requests verifies the endpoint's certificate against: the CA the credential's
    strategy names for it (a GKE cluster's own), else the system's."""
    ca_pem = upstream_trust_now(credential=credential, endpoint_url=address)
    return _ca_file(ca_pem) if ca_pem else True


def _proxies(address: str) -> dict[str, str]:
    """The VPC's HTTP proxy for an address inside it (an internal Gateway's), else none."""
    proxy = vpc_proxy_for(address)
    return {"http": proxy, "https": proxy} if proxy else {}


@functools.lru_cache(maxsize=64)
def _ca_file(ca_pem: str) -> str:
    """requests takes a CA only as a file: one per CA for the process (a public cert)."""
    with tempfile.NamedTemporaryFile("w", suffix=".pem", prefix="hangar-ca-", delete=False) as f:
        f.write(ca_pem)
    return f.name


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _send(
    method: str,
    address: str,
    credential: str,
    path: str,
    timeout: float,
    body: Any,
    extra: dict[str, str] | None = None,
) -> EndpointReply:
    url = address.rstrip("/") + path
    # The credential's headers win: a request's own never replace them.
    headers = {
        **(extra or {}),
        **upstream_headers_now(credential=credential, endpoint_url=address),
    }
    verify = _verify(credential, address)
    for _ in range(MAX_REDIRECTS + 1):
        response = requests.request(
            method,
            url,
            json=body,
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
            verify=verify,
            proxies=_proxies(address),
        )
        with response:
            location = response.headers.get("Location", "")
            if response.status_code not in REDIRECTS or not location:
                return _reply(response)
            target = urljoin(url, location)
            if _origin(target) != _origin(address):
                return EndpointReply(
                    response.status_code,
                    None,
                    f"redirected to another host ({_origin(target)[1] or target[:80]}); "
                    "not followed",
                )
            url = target
    return EndpointReply(response.status_code, None, f"more than {MAX_REDIRECTS} redirects")


def _reply(response: requests.Response) -> EndpointReply:
    raw = response.raw.read(MAX_REPLY_BYTES + 1, decode_content=True)
    if len(raw) > MAX_REPLY_BYTES:
        return EndpointReply(response.status_code, None, f"reply over {MAX_REPLY_BYTES} bytes")
    try:
        parsed = json.loads(raw) if raw else None
    except (ValueError, RecursionError):
        parsed = None
    # A failing reply: only its message. A reply that is not what the step wanted: a
    # short excerpt. Both cleaned (credentials it may echo redacted, 300 characters).
    failing = response.status_code >= 400 or parsed is None
    text = error_text(raw) if failing else clean_text(raw.decode("utf-8", "replace"))
    return EndpointReply(status=response.status_code, body=parsed, text=text)
