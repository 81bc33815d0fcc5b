"""Google API clients on the REST transport, with credentials from google-auth.

With GCP["API_ENDPOINT"] set (the sandbox), every client talks to that base URL;
empty means Google's own endpoints, at SERVICE.UNIVERSE for the configured universe
(GCP["UNIVERSE_DOMAIN"], passed to every client as `universe_domain`: the libraries then
check that the credentials belong to the same universe). Nothing else differs.
"""

from functools import cache
from typing import Any

import google.auth
from google.api_core.client_options import ClientOptions
from google.auth.credentials import Credentials

from gcp.settings import gcp_setting
from gcp.universe import api_host

# An OAuth scope is a name, not a host: the same in every universe.
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]

# Our runner retries with backoff between tasks; the clients' own in-call retry
# would sleep inside a worker, so calls pass retry=None and this timeout.
NO_RETRY: Any = None


def call_timeout() -> float:
    return float(gcp_setting("HTTP_TIMEOUT_SECONDS"))


@cache
def credentials() -> Credentials:
    creds, _ = google.auth.default(scopes=SCOPES)
    return creds


def universe_domain() -> str:
    return str(gcp_setting("UNIVERSE_DOMAIN"))


def client_options() -> ClientOptions:
    endpoint = gcp_setting("API_ENDPOINT")
    return ClientOptions(api_endpoint=endpoint or None, universe_domain=universe_domain())


def api_base(service: str) -> str:
    """The base URL of an API the official clients do not cover here (`iam`,
    `cloudresourcemanager`...): the configured endpoint, or the API in the universe."""
    return (gcp_setting("API_ENDPOINT") or api_host(service, universe_domain())).rstrip("/")


def make_client(client_class: type) -> Any:
    return client_class(
        transport="rest", credentials=credentials(), client_options=client_options()
    )


def rest(
    service: str,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    timeout: float | None = None,
) -> Any:
    """One REST call for the APIs without a REST client here (IAM Admin, Resource Manager,
    Service Usage, Cloud Quotas): the same credentials, endpoint override and errors
    (google.api_core exceptions) as every client. `timeout` shortens the usual one for a
    read a person is waiting on."""
    from google.api_core import exceptions as gexc
    from google.auth.transport.requests import AuthorizedSession

    response = AuthorizedSession(credentials()).request(
        method, f"{api_base(service)}{path}", json=body, timeout=timeout or call_timeout()
    )
    if response.status_code >= 400:
        raise gexc.from_http_response(response)
    return response.json() if response.content else {}
