"""Google's own words from an API error, without the transport's framing.

Over REST, google-api-core prefixes every error message with the request line,
"POST https://run.googleapis.com/v2/...?%24alt=json%3Benum-encoding%3Dint: " (its
`_format_rest_error_message`). That URL-encoded query is noise to a person reading why
a rollout failed; the message Google sent is the part after it.
"""

import re

from google.api_core import exceptions as gexc

# The request line the REST transport puts first, when the response no longer tells it.
_REQUEST_LINE = re.compile(r"^[A-Z]+ https?://\S+: ")


def google_message(exc: gexc.GoogleAPICallError) -> str:
    """The error message Google sent, as the API returned it."""
    message = exc.message or ""
    request = getattr(exc.response, "request", None)
    method, url = getattr(request, "method", None), getattr(request, "url", None)
    if method and url:
        prefix = f"{str(method).upper()} {url}: "
        if message.startswith(prefix):
            return message[len(prefix) :]
    return _REQUEST_LINE.sub("", message, count=1)
