"""manage.py preflight asks Google (the sandbox) what the portal's identity lacks for the
enabled targets' plans, and prints the gcloud line for each gap."""

import io

import pytest
from django.core.management import CommandError, call_command

from deployments.targets.gke_vllm import manifests
from runbook.executors import EXECUTORS
from runbook.owners import owners
from runbook.plan import ApiRequest, Step
from tests.deployments.targets.test_gke_vllm_manifests import NS, server
from workers.preflight import PERMISSIONS, needed_permissions, step_permissions, unlisted_actions

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


def test_every_executor_and_every_kind_the_gke_plans_apply_has_a_permission_list():
    """Whether or not a target using them is registered yet: every action some plan can
    name (it has an executor) and every kind the GKE plans apply or delete."""
    kube_steps = {"kube.apply", "kube.delete"}
    # The engine's generic executors, and those an owner keeps for its own plans.
    actions = set(EXECUTORS).union(*(owner.executors() for owner in owners()))
    assert actions - kube_steps - set(PERMISSIONS) == set()
    objects = [
        manifests.namespace(NS, "ml-research"),
        manifests.gpu_quota(NS, "ml-research", 8),
        *manifests.server_objects(server()),
    ]
    for obj in objects:
        for action in sorted(kube_steps):
            step = Step(
                "k",
                "t",
                action,
                ApiRequest("kubernetes", "PATCH", "/"),
                "",
                "",
                params={"api_version": obj["apiVersion"], "kind": obj["kind"]},
            )
            assert step_permissions(step), (action, obj["kind"])
    apply = {"api_version": "cloud.google.com/v1", "kind": "ComputeClass"}
    assert step_permissions(
        Step("k", "t", "kube.apply", ApiRequest("k", "PATCH", "/"), "", "", params=apply)
    ) == (
        "container.thirdPartyObjects.create",
        "container.thirdPartyObjects.get",
        "container.thirdPartyObjects.update",
    )
    # A built-in kind Hangar has no list for is reported, not taken for a custom resource.
    unknown = {"api_version": "apps/v1", "kind": "StatefulSet"}
    assert (
        step_permissions(
            Step("k", "t", "kube.apply", ApiRequest("k", "PATCH", "/"), "", "", params=unknown)
        )
        is None
    )


def test_the_cluster_plans_are_covered():
    needed = needed_permissions()
    assert needed["container.clusters.create"] == "roles/container.admin"
    assert needed["container.clusters.delete"] == "roles/container.admin"
    assert needed["container.operations.get"] == "roles/container.admin"


def test_a_project_set_up_as_the_readme_says_passes(sandbox):
    out, error = _run()
    assert error == "", out
    assert "MISSING" not in out


def test_what_is_missing_is_named_with_the_line_that_grants_it(sandbox, settings):
    setup = sandbox.iam()
    sandbox.iam(
        portal_roles=[
            r
            for r in setup["portal_roles"]
            if r not in ("roles/storage.admin", "roles/container.admin")
        ],
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
    # Among what the role carries (the inference gateway's cluster-wide RBAC and CRDs too).
    admin_line = next(line for line in out.splitlines() if "roles/container.admin: lacks" in line)
    assert "container.clusters.create" in admin_line
    assert f"--member=serviceAccount:{portal} --role=roles/container.admin" in out
