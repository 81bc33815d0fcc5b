"""Drive a rollout in this process, step after step, as fast as Google (the sandbox) lets
it: the worker's own code (claim → run → record) without Celery or its pauses. Tests that
cover every call or every step of every plan use it to stay within CI's time."""

import re
import time
from collections import Counter
from dataclasses import replace
from typing import Any, cast

from django.conf import settings
from django.test import override_settings

from clusters.choices import ClusterPhase, ClusterStatus
from clusters.models import Cluster
from clusters.plans import ClusterRef, cluster_plan
from deployments.choices import Status
from deployments.models import Deployment
from deployments.selectors import SPEC_CLUSTER_KEY
from deployments.services.lifecycle import deployment_retry, deployment_tear_down
from deployments.services.offers import offer_for_team
from gcp import container
from portal.models import Membership, Role
from portal.services_hf_token import hf_token_save
from runbook import runner
from runbook.ledger import runs_of
from runbook.models import IN_FLIGHT_OUTCOMES, StepRun
from sandbox.testing import SandboxClient
from tests.factories import DeploymentFactory, UserFactory, platform_admin
from tests.plan_variants import target_of

HF_TOKEN = "hf_SandboxTokenNeverToBeSeen0123456789"
BUILD_ATTEMPT_TAG = re.compile(r"hangar-d\d+-a\d+")
# Ids Google makes up: UUIDs (Cloud Run's operations, builds), GKE's operation names.
UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|operation-\d+-[0-9a-f]+"
)


def sandbox_cluster(team: Any, name: str = "hangar-tests", autopilot: bool = True) -> Cluster:
    """A ready Cluster row, open to `team`, backed by a GKE cluster made in the sandbox (its
    own API server, endpoint and CA), as a platform admin's registered cluster is: Autopilot,
    or Standard as seed 004 makes it (clusters/plans.py)."""
    parent = f"projects/{settings.GCP['PROJECT']}/locations/us-central1"
    Cluster.objects.filter(name=name).delete()  # an earlier one's sandbox was reset
    body: dict[str, Any] = {"cluster": {"name": name, "autopilot": {"enabled": True}}}
    if not autopilot:
        ref = ClusterRef(settings.GCP["PROJECT"], "us-central1", name, "RAPID", autopilot=False)
        body = cluster_plan(ClusterPhase.CREATE, ref).step("create_cluster").request.body or {}
        # An internal Gateway there needs the region's proxy-only subnet.
        SandboxClient(settings.SANDBOX_URL).iam(proxy_only_subnets=["us-central1"])
    # Starting a cluster's API server may outlast a test's short client timeout.
    with override_settings(GCP={**settings.GCP, "HTTP_TIMEOUT_SECONDS": 30.0}):
        container.create_cluster(parent=parent, body=body)
        deadline = time.monotonic() + 30
        while not (info := container.get_cluster(f"{parent}/clusters/{name}")).endpoint:
            assert time.monotonic() < deadline, f"the sandbox cluster is still {info.status}"
            time.sleep(0.05)
    cluster = Cluster.objects.create(
        project=settings.GCP["PROJECT"],
        location="us-central1",
        name=name,
        status=ClusterStatus.READY,
        endpoint=info.endpoint,
        ca_certificate=info.ca_certificate,
        workload_pool=info.workload_pool,
        autopilot=autopilot,
    )
    cluster.teams.add(team)
    return cluster


def _bound(variant: str, spec: Any, team: Any) -> Any:
    """The spec as a request of the team would hold it: a target that binds requests to
    their team (a GKE one: its cluster) gets a cluster and its binding."""
    target = target_of(variant)
    if target.bind_team is None:
        return spec
    cluster = sandbox_cluster(team)
    offer = offer_for_team(team=team)
    bound, errors = target.bind_team(replace(spec, **{SPEC_CLUSTER_KEY: cluster.pk}), offer)
    if SPEC_CLUSTER_KEY in errors:  # a target that adds node pools wants a Standard one
        cluster = sandbox_cluster(team, name="hangar-tests-std", autopilot=False)
        offer = offer_for_team(team=team)
        bound, errors = target.bind_team(replace(spec, **{SPEC_CLUSTER_KEY: cluster.pk}), offer)
    assert not errors, errors
    return bound


def deployment_for(variant: str, spec: Any, team: Any, slug: str) -> Deployment:
    """An approved deployment of this plan variant; its team's Hugging Face token is saved
    and, if the target runs on a cluster, a sandbox cluster is open to the team."""
    admin = UserFactory(username=f"{team.slug}-admin")
    Membership.objects.get_or_create(team=team, user=admin, defaults={"role": Role.ADMIN})
    hf_token_save(team=team, token=HF_TOKEN, by=admin)
    spec = _bound(variant, spec, team)
    columns = {name: getattr(spec, name) for name in type(spec).COLUMN_FIELDS}
    made = DeploymentFactory(
        team=team,
        slug=slug,
        target=target_of(variant).name,
        spec=spec.spec_json(),
        status=Status.APPROVED,
        **columns,
    )
    return cast(Deployment, made)


def _now_due(deployment: Deployment) -> None:
    """Act as the deployment's queued task, due now: no pause between checks."""
    StepRun.objects.filter(
        owner_kind="deployment", owner_id=deployment.pk, outcome__in=IN_FLIGHT_OUTCOMES
    ).update(not_before=None)
    Deployment.objects.filter(pk=deployment.pk).update(advance_due_at=None)


def drive(
    deployment: Deployment, *, until: Status, retry_failed: bool = False, timeout: float = 120
) -> list[Deployment]:
    """Advance until `until`; a failure is retried when asked (each failure is returned)."""
    failures: list[Deployment] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deployment.refresh_from_db()
        if deployment.status == until:
            return failures
        if deployment.status == Status.FAILED:
            failures.append(Deployment.objects.get(pk=deployment.pk))
            if not retry_failed:
                return failures
            deployment_retry(deployment=deployment, by=platform_admin("root"))
            continue
        _now_due(deployment)
        runner.advance("deployment", deployment.pk)
        time.sleep(0.01)
    steps = list(runs_of("deployment", deployment.pk).values_list("step", "outcome", "error"))
    raise AssertionError(f"{deployment.slug} is still {deployment.status}; steps: {steps}")


def tear_down(deployment: Deployment) -> Deployment:
    return deployment_tear_down(deployment=deployment, by=platform_admin("root"))


def google_calls(log: list[dict[str, Any]], kind: str = "api") -> list[tuple[str, str]]:
    """The distinct Google API calls in a request log (kind "kube": a cluster's Kubernetes
    API calls), as (method, path regex): ids Google made up (operations, builds) match any
    id, so a fault meets the same call next time."""
    seen: dict[tuple[str, str], None] = {}
    for entry in log:
        if entry["kind"] != kind:
            continue
        path = "[^/]+".join(re.escape(part) for part in UUID.split(entry["path"]))
        seen[(entry["method"], f"^{path}$")] = None
    return list(seen)


def duplicates(state: dict[str, Any]) -> dict[str, int]:
    """Resources Google holds twice: builds sharing an attempt tag (nothing else can
    be doubled, every other create names its resource)."""
    tags = Counter(tag for build in state["builds"] for tag in build.get("tags", []) if "-a" in tag)
    return {tag: n for tag, n in tags.items() if n > 1}
