"""OIDC ID tokens for calling private Cloud Run services, cached per audience.

fetch_id_token() mints a new token on every call; the credentials object keeps
its token and refreshes it shortly before it expires (google-auth's threshold).
"""

import threading
from typing import Any

import google.auth.transport.requests
from google.oauth2 import id_token

_lock = threading.Lock()
_credentials: dict[str, Any] = {}


def id_token_for(audience: str) -> str:
    request = google.auth.transport.requests.Request()
    with _lock:
        creds = _credentials.get(audience)
        if creds is None:
            creds = id_token.fetch_id_token_credentials(audience, request=request)
            _credentials[audience] = creds
        if not creds.valid:
            creds.refresh(request)
        return str(creds.token)
