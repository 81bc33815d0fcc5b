"""A failure shows Google's message, not the REST transport's request line."""

import requests
from google.api_core import exceptions as gexc

from gcp.errors import diagnose
from gcp.text import google_message

URL = (
    "https://run.googleapis.com/v2/projects/p/locations/europe-west1/services"
    "?serviceId=gemma&%24alt=json%3Benum-encoding%3Dint"
)
GOOGLE = "Quota exceeded for total allowable nvidia-l4 GPUs per project per region."


def _rest_error(status: int, message: str) -> gexc.GoogleAPICallError:
    """An error built the way google-api-core's REST transport builds one."""
    response = requests.Response()
    response.status_code = status
    response._content = b'{"error": {"code": %d, "message": "%s", "status": "X"}}' % (
        status,
        message.encode(),
    )
    response.request = requests.Request("post", URL).prepare()
    return gexc.from_http_response(response)


def test_the_request_line_is_dropped_from_a_rest_error():
    exc = _rest_error(400, GOOGLE)
    assert "%24alt" in exc.message  # what the client library hands over

    assert google_message(exc) == GOOGLE


def test_a_message_without_a_response_loses_its_request_line_too():
    exc = gexc.BadRequest(f"POST {URL}: {GOOGLE}")

    assert google_message(exc) == GOOGLE


def test_a_plain_message_is_kept_whole():
    assert google_message(gexc.NotFound("Service gemma was not found.")) == (
        "Service gemma was not found."
    )


def test_the_rollout_failure_text_has_no_transport_noise():
    diagnosis = diagnose(
        _rest_error(400, GOOGLE), required_role="roles/run.admin", principal="p", project="p"
    )

    assert diagnosis.message == f"400 BadRequest: {GOOGLE}"
