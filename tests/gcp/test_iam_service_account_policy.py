"""Workload Identity's binding: roles/iam.workloadIdentityUser on the Google account for
the Kubernetes account, through gcp/iam.py and the sandbox's IAM."""

import pytest
from google.api_core import exceptions as gexc

from gcp import iam

PROJECT = "hangar-sandbox"
BODY = {"accountId": "hg-gemma-26b-abc123", "serviceAccount": {"displayName": "Hangar gemma"}}
MEMBER = "serviceAccount:hangar-sandbox.svc.id.goog[hangar-ml-research/gemma-26b]"
ROLE = "roles/iam.workloadIdentityUser"


def test_grant_is_idempotent_and_readable(sandbox):
    email, _ = iam.ensure_service_account(project=PROJECT, body=BODY)
    assert (
        iam.grant_service_account_role(project=PROJECT, email=email, member=MEMBER, role=ROLE)
        is True
    )
    assert (
        iam.grant_service_account_role(project=PROJECT, email=email, member=MEMBER, role=ROLE)
        is False
    )
    policy = iam._send(
        "POST", f"/v1/projects/{PROJECT}/serviceAccounts/{email}:getIamPolicy", {"options": {}}
    )
    assert policy["bindings"] == [{"role": ROLE, "members": [MEMBER]}]


def test_a_recreated_account_starts_without_bindings(sandbox):
    email, _ = iam.ensure_service_account(project=PROJECT, body=BODY)
    iam.grant_service_account_role(project=PROJECT, email=email, member=MEMBER, role=ROLE)
    iam.delete_service_account(f"projects/{PROJECT}/serviceAccounts/{email}")
    iam.ensure_service_account(project=PROJECT, body=BODY)
    assert (
        iam.grant_service_account_role(project=PROJECT, email=email, member=MEMBER, role=ROLE)
        is True
    )


def test_refused_like_iam(sandbox):
    with pytest.raises(gexc.NotFound):
        iam.grant_service_account_role(
            project=PROJECT,
            email="nobody@hangar-sandbox.iam.gserviceaccount.com",
            member=MEMBER,
            role=ROLE,
        )
    email, _ = iam.ensure_service_account(project=PROJECT, body=BODY)
    with pytest.raises(gexc.BadRequest, match="Invalid principal"):
        iam.grant_service_account_role(
            project=PROJECT, email=email, member="serviceAccount:pool[ns/ksa]", role=ROLE
        )
    with pytest.raises(gexc.BadRequest, match="not supported"):
        iam.grant_service_account_role(
            project=PROJECT, email=email, member=MEMBER, role="roles/run.invoker"
        )
