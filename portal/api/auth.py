"""What the API needs to know about how a request authenticated."""

from rest_framework.request import Request

from portal.models import ApiToken


def request_token(request: Request) -> ApiToken | None:
    """The team API token the request came with, or None for a browser session."""
    return request.auth if isinstance(request.auth, ApiToken) else None
