"""How Google's errors are read: retry, or stop and say what to do."""

import pytest
from google.api_core import exceptions as gexc

from workers.gcp.errors import diagnose

ARGS = {
    "required_role": "roles/run.admin",
    "principal": "p@x.iam.gserviceaccount.com",
    "project": "x",
}


@pytest.mark.parametrize(
    "exc",
    [
        gexc.ServiceUnavailable("try later"),
        gexc.TooManyRequests("Rate limit"),
        gexc.InternalServerError("oops"),
        gexc.Aborted("etag"),
    ],
)
def test_transient_errors_are_retried(exc):
    assert diagnose(exc, **ARGS).transient


@pytest.mark.parametrize("cls", [gexc.Forbidden, gexc.PermissionDenied])
def test_permission_denied_names_permission_and_role(cls):
    message = (
        "Permission 'run.services.create' denied on resource 'projects/x/locations/r/services/s'"
    )
    diagnosis = diagnose(cls(message), **ARGS)
    assert not diagnosis.transient
    assert "run.services.create" in diagnosis.hint
    assert "--role=roles/run.admin" in diagnosis.hint


def test_quota_exhaustion_is_not_retried():
    exc = gexc.TooManyRequests("Quota exceeded for quota metric 'Total Nvidia L4 GPU allocation'")
    diagnosis = diagnose(exc, **ARGS)
    assert not diagnosis.transient
    assert "quota" in diagnosis.hint.lower()


def test_programming_errors_are_not_hidden():
    with pytest.raises(KeyError):
        diagnose(KeyError("x"), **ARGS)
