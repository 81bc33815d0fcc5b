"""Google API clients on the REST transport, with credentials from google-auth.

With GCP["API_ENDPOINT"] set (the sandbox), every client talks to that base URL;
empty means Google's own endpoints. Nothing else differs between the two.
"""

from functools import cache
from typing import Any

import google.auth
from django.conf import settings
from google.api_core.client_options import ClientOptions
from google.auth.credentials import Credentials

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]

# Our runner retries with backoff between tasks; the clients' own in-call retry
# would sleep inside a worker, so calls pass retry=None and this timeout.
NO_RETRY: Any = None


def call_timeout() -> float:
    return float(settings.GCP["HTTP_TIMEOUT_SECONDS"])


@cache
def credentials() -> Credentials:
    creds, _ = google.auth.default(scopes=SCOPES)
    return creds


def client_options() -> ClientOptions | None:
    endpoint = settings.GCP["API_ENDPOINT"]
    return ClientOptions(api_endpoint=endpoint) if endpoint else None


def make_client(client_class: type) -> Any:
    return client_class(
        transport="rest", credentials=credentials(), client_options=client_options()
    )


def rest(google_host: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """One REST call for the APIs without a REST client here (IAM Admin, Resource Manager,
    Service Usage, Cloud Quotas): the same credentials, endpoint override and errors
    (google.api_core exceptions) as every client."""
    from google.api_core import exceptions as gexc
    from google.auth.transport.requests import AuthorizedSession

    base = (settings.GCP["API_ENDPOINT"] or google_host).rstrip("/")
    response = AuthorizedSession(credentials()).request(
        method, f"{base}{path}", json=body, timeout=call_timeout()
    )
    if response.status_code >= 400:
        raise gexc.from_http_response(response)
    return response.json() if response.content else {}
