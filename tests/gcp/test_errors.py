"""How Google's errors are read: retry, or stop and say what to do."""

import pytest
from google.api_core import exceptions as gexc
from google.auth.exceptions import RefreshError, TransportError

from gcp.errors import diagnose

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


def _quota_error(cls, reason, metric):
    info = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "googleapis.com",
        "metadata": {"quota_metric": metric, "quota_location": "europe-west1"},
    }
    # The message says "Quota exceeded" either way: only the ErrorInfo tells them apart.
    return cls(f"Quota exceeded for quota metric '{metric}'", details=[info], error_info=info)


@pytest.mark.parametrize("cls", [gexc.TooManyRequests, gexc.ResourceExhausted])
def test_a_rate_limit_is_retried_although_its_message_says_quota(cls):
    exc = _quota_error(cls, "RATE_LIMIT_EXCEEDED", "run.googleapis.com/requests")
    assert diagnose(exc, **ARGS).transient


@pytest.mark.parametrize("cls", [gexc.TooManyRequests, gexc.ResourceExhausted])
def test_an_allocation_quota_fails_with_the_metric_named(cls):
    metric = "run.googleapis.com/nvidia_l4_gpu_allocation_no_zonal_redundancy"
    diagnosis = diagnose(_quota_error(cls, "RESOURCE_QUOTA_EXCEEDED", metric), **ARGS)
    assert not diagnosis.transient
    assert metric in diagnosis.hint
    assert "europe-west1" in diagnosis.hint


def test_a_429_without_details_is_a_rate_limit():
    assert diagnose(gexc.TooManyRequests("Quota exceeded"), **ARGS).transient


def test_storage_rate_limit_reason_is_retried():
    exc = gexc.TooManyRequests(
        "The rate of change requests exceeds the rate limit.",
        errors=[{"domain": "usageLimits", "reason": "rateLimitExceeded"}],
    )
    assert diagnose(exc, **ARGS).transient


def test_act_as_names_service_account_user_on_the_account():
    info = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "IAM_PERMISSION_DENIED",
        "domain": "iam.googleapis.com",
        "metadata": {
            "permission": "iam.serviceAccounts.actAs",
            "resource": "projects/-/serviceAccounts/rt@x.iam.gserviceaccount.com",
        },
    }
    exc = gexc.Forbidden("Permission 'iam.serviceAccounts.actAs' denied", error_info=info)
    hint = diagnose(exc, **ARGS).hint
    assert "roles/iam.serviceAccountUser" in hint
    assert "roles/run.admin" not in hint
    assert "service-accounts add-iam-policy-binding rt@x.iam.gserviceaccount.com" in hint


@pytest.mark.parametrize(
    "exc", [RefreshError("metadata server unavailable"), TransportError("connection reset")]
)
def test_a_token_outage_is_transient(exc):
    diagnosis = diagnose(exc, **ARGS)
    assert diagnosis.transient
    assert "credential" in diagnosis.message


def test_a_disabled_api_names_the_gcloud_line():
    info = {"reason": "SERVICE_DISABLED", "metadata": {"service": "run.googleapis.com"}}
    diagnosis = diagnose(gexc.Forbidden("disabled", error_info=info), **ARGS)
    assert "gcloud services enable run.googleapis.com" in diagnosis.hint


def test_programming_errors_are_not_hidden():
    with pytest.raises(KeyError):
        diagnose(KeyError("x"), **ARGS)
