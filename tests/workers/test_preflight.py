"""manage.py preflight asks Google (the sandbox) what the portal's identity lacks for the
enabled targets' plans, and prints the gcloud line for each gap."""

import io

import pytest
from django.core.management import CommandError, call_command

from workers.preflight import needed_permissions, unlisted_actions

pytestmark = pytest.mark.django_db


def _run():
    out = io.StringIO()
    try:
        call_command("preflight", stdout=out)
    except CommandError as exc:
        return out.getvalue(), str(exc)
    return out.getvalue(), ""


def test_every_action_of_every_plan_says_what_it_needs():
    assert unlisted_actions() == set()
    needed = needed_permissions()
    assert needed["run.services.create"] == "roles/run.admin"
    assert needed["iam.serviceAccounts.setIamPolicy"] == "roles/iam.serviceAccountAdmin"


def test_a_project_set_up_as_the_readme_says_passes(sandbox):
    out, error = _run()
    assert error == "", out
    assert "MISSING" not in out


def test_what_is_missing_is_named_with_the_line_that_grants_it(sandbox, settings):
    setup = sandbox.iam()
    sandbox.iam(
        portal_roles=[r for r in setup["portal_roles"] if r != "roles/storage.admin"],
        act_as=[a for a in setup["act_as"] if not a.startswith("hangar-builder@")],
        disabled_services=["run.googleapis.com"],
        gpu_quota={**setup["gpu_quota"], "europe-west1": 0},
    )
    portal = settings.GCP["PORTAL_SERVICE_ACCOUNT"]

    out, error = _run()

    assert "missing" in error
    assert "gcloud services enable run.googleapis.com" in out
    assert "lacks storage.buckets.create" in out
    assert f"--member=serviceAccount:{portal} --role=roles/storage.admin" in out
    assert "MISSING roles/iam.serviceAccountUser on hangar-builder@" in out
    assert "--role=roles/iam.serviceAccountUser" in out
    assert "europe-west1: quota 0" in out
    assert "roles/run.admin: held" in out
