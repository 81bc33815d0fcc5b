"""Text from Google and from model servers, made fit to show a person.

`google_message`: Google's own words from an API error, without the transport's framing.

Over REST, google-api-core prefixes every error message with the request line,
"POST https://run.googleapis.com/v2/...?%24alt=json%3Benum-encoding%3Dint: " (its
`_format_rest_error_message`). That URL-encoded query is noise to a person reading why
a rollout failed; the message Google sent is the part after it.
"""

import json
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


ERROR_TEXT_MAX = 300

# What an endpoint may echo back that must never reach a caller: Google ID tokens (JWTs)
# and access tokens, any bearer credential, Hangar's own API tokens.
_SECRETS = re.compile(
    r"eyJ[\w-]*(?:\.[\w-]*)*"
    r"|ya29\.[\w.-]*"
    r"|hgr_[0-9a-f]+_[\w-]*"
    r"|(?i:bearer)\s+\S+",
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")


def clean_text(text: str, limit: int = ERROR_TEXT_MAX) -> str:
    """Text from an endpoint, fit to show a caller: credentials it may echo redacted,
    control characters gone, at most `limit` characters."""
    text = _SECRETS.sub("[redacted]", text)
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_text(body: bytes) -> str:
    """The human part of an upstream error body (Ollama, OpenAI, Google or HTML), cleaned:
    only an error's message is taken, never a structure the endpoint filled in."""
    text = body.decode("utf-8", "replace").strip()
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return clean_text(_strip_html(text[:20_000]))
    err = parsed.get("error", parsed) if isinstance(parsed, dict) else parsed
    if isinstance(err, dict):
        err = err.get("message") or err.get("detail")
    if isinstance(err, str):
        return clean_text(err)
    return "no message"


def _strip_html(text: str) -> str:
    out, inside = [], False
    for ch in text:
        if ch == "<":
            inside = True
        elif ch == ">":
            inside = False
            out.append(" ")
        elif not inside:
            out.append(ch)
    return " ".join("".join(out).split())
