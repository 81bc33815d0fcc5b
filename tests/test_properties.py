"""Property tests: the proxy's request parsing and the forms take any input without a 5xx.

Whatever a client sends, parsing either gives a request Hangar can act on or raises the
one application error (a 4xx); cleaning for storage and for display always yields text
that Postgres takes and that carries no credential.
"""

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deployments.forms import request_form_class
from deployments.targets import TARGETS
from gcp.text import clean_text
from playground.handlers import parse_chat
from playground.passthrough_request import ROUTES, PassthroughRequest, passthrough_parse
from playground.services import storable
from portal.exceptions import ApplicationError
from portal.forms import ApiTokenForm


def _or_4xx(parse: Any, *args: Any, **kwargs: Any) -> Any:
    """What `parse` returns, or None when it refused the input with a 4xx (anything else
    it raises fails the test)."""
    try:
        return parse(*args, **kwargs)
    except ApplicationError as exc:
        if not 400 <= exc.http_status < 500:
            raise
        return None


FAST = settings(max_examples=150, deadline=None)
DB = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
OPENAI_KEYS = ["model", "messages", "prompt", "stream", "stream_options", "max_tokens", "n"]
openai_bodies = st.dictionaries(
    st.sampled_from(OPENAI_KEYS) | st.text(max_size=8), json_values, max_size=6
)


@FAST
@given(
    route=st.sampled_from(list(ROUTES)), method=st.sampled_from(["GET", "POST"]), body=openai_bodies
)
def test_passthrough_parsing_takes_any_object(route: str, method: str, body: dict[str, Any]):
    parsed = _or_4xx(
        passthrough_parse, route=route, method=method, raw_body=json.dumps(body).encode()
    )
    if parsed is None:
        return
    assert isinstance(parsed, PassthroughRequest) and parsed.prompt_tokens >= 0
    if parsed.streaming:  # the endpoint is always asked for usage; the client's wish is kept
        assert parsed.body["stream_options"]["include_usage"] is True
        asked = body.get("stream_options")
        assert parsed.wants_usage == bool(isinstance(asked, dict) and asked.get("include_usage"))


@FAST
@given(raw=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_passthrough_parsing_takes_any_bytes(raw: bytes):
    _or_4xx(passthrough_parse, route="chat/completions", method="POST", raw_body=raw)


@FAST
@given(
    body=st.dictionaries(
        st.sampled_from(
            [
                "deployment",
                "conversation",
                "messages",
                "model",
                "system",
                "temperature",
                "top_p",
                "max_tokens",
                "think",
            ]
        ),
        json_values,
    )
    | json_values
)
def test_chat_parsing_takes_any_json(body: Any):
    parsed = _or_4xx(parse_chat, json.dumps(body).encode())
    if parsed is None:
        return
    deployment, _, params = parsed
    assert isinstance(deployment, int) and params.messages[-1]["role"] == "user"


@FAST
@given(text=st.text())
def test_storable_text_is_what_postgres_takes(text: str):
    stored = storable(text)
    assert "\x00" not in stored
    stored.encode("utf-8")  # no lone surrogate left
    assert storable(stored) == stored
    if "\x00" not in text and text.isascii():
        assert stored == text


@FAST
@given(
    before=st.text(max_size=100),
    secret=st.from_regex(
        r"eyJ[A-Za-z0-9_-]{4,40}\.[A-Za-z0-9_-]{4,40}\.[A-Za-z0-9_-]{4,40}", fullmatch=True
    ),
    after=st.text(max_size=100),
)
def test_what_an_endpoint_says_is_shown_without_credentials(before: str, secret: str, after: str):
    shown = clean_text(before + " " + secret + " " + after)
    assert secret not in shown and len(shown) <= 300
    assert not any(ord(c) < 32 for c in shown)


form_text = st.text(st.characters(codec="utf-8"), max_size=30) | st.sampled_from(
    ["", "0", "-1", "1e308", "NaN", "inf", "99999999999999999999999", "4.5", "\x00"]
)


@pytest.mark.django_db
@pytest.mark.parametrize("target", list(TARGETS))
@DB
@given(data=st.data())
def test_request_forms_take_any_input(target: str, deployer, data):
    form_class = request_form_class(target)
    names = list(form_class.base_fields)
    values = data.draw(st.dictionaries(st.sampled_from(names), form_text))
    form = form_class(values, user=deployer)
    if not form.is_valid():
        return
    for name, field in form.fields.items():
        value = form.cleaned_data.get(name)
        low, high = getattr(field, "min_value", None), getattr(field, "max_value", None)
        if value is not None and low is not None:
            assert value >= low, name
        if value is not None and high is not None:
            assert value <= high, name


@pytest.mark.django_db
@DB
@given(values=st.dictionaries(st.sampled_from(["name", "expires_at"]), form_text))
def test_the_token_form_takes_any_input(values: dict[str, str]):
    form = ApiTokenForm(values)
    if form.is_valid():
        assert 0 < len(form.cleaned_data["name"]) <= 100


@pytest.mark.parametrize(
    "raw", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000 + b"1" + b"}" * 100_000]
)
def test_a_chat_body_nested_100000_deep_is_a_4xx(raw: bytes):
    assert _or_4xx(parse_chat, raw) is None
    assert _or_4xx(passthrough_parse, route="completions", method="POST", raw_body=raw) is None
