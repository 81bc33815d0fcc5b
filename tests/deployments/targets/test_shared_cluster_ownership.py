"""Two teams on one GKE Standard cluster (issue 21, items 1-3): every object a deployment
makes is its own (named for it, labelled with it), what several rows share (the
lora-syncer's list) is rebuilt from the live rows, and a base goes only after its
adapters.

The rollouts run the worker's own code in this process (claim, run, record:
tests/runbook/rollout_driver.py) against the sandbox's GKE and Kubernetes APIs. After each
change the cluster is read back through its Kubernetes API and compared with what the live
rows' plans call for: nothing missing (no team lost anything), nothing more.
"""

import itertools
import time
from typing import Any, cast

import pytest
import yaml

from clusters.models import Cluster
from deployments.choices import Phase, Status
from deployments.models import Deployment, DeploymentEvent
from deployments.plans import plan_for
from deployments.services.dependents import live_dependents
from deployments.services.offers import offer_for_team
from deployments.targets import TARGETS
from deployments.targets.gke_inference_gateway.spec import GkeInferenceGatewaySpec
from deployments.targets.gke_inference_gateway_adapter.spec import GatewayAdapterSpec
from deployments.targets.gke_vllm import identity
from gcp import container, kube
from portal.models import Membership, Role
from portal.services_hf_token import hf_token_save
from runbook import runner
from runbook.ledger import runs_of
from runbook.models import IN_FLIGHT_OUTCOMES, StepRun
from tests.factories import DeploymentFactory, TeamFactory, UserFactory
from tests.runbook.rollout_driver import HF_TOKEN, sandbox_cluster, tear_down
from tests.runbook.test_crash_at_every_step import _roll_with_crashes

pytestmark = pytest.mark.django_db

GATEWAY = TARGETS["gke-inference-gateway"]
ADAPTER = TARGETS["gke-inference-gateway-adapter"]
# Two slugs that share their first 40 characters but the last: the node pool names cut
# from 36 characters once collided.
SLUG_A = "poolcollide-0123456789abcdefghijklmn-a41"
SLUG_B = "poolcollide-0123456789abcdefghijklmn-b41"
# What the deployments apply, besides what a team or the cluster shares (its namespace,
# its GPU quota, the CRDs), which stay when a deployment goes.
OWNED_KINDS = (
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "Service"),
    ("v1", "ServiceAccount"),
    ("apps/v1", "Deployment"),
    ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("inference.networking.k8s.io/v1", "InferencePool"),
    ("inference.networking.x-k8s.io/v1alpha2", "InferenceObjective"),
    ("networking.gke.io/v1", "HealthCheckPolicy"),
    ("networking.gke.io/v1", "GCPBackendPolicy"),
    ("gateway.networking.k8s.io/v1", "Gateway"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
)
CLUSTER_WIDE = (
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
)
APPLIES = ("kube.apply", "kube.apply_secret_from_secret_manager")
STARTERS = ["food-review", "cad-fabricator"]  # seed 004's adapters, loaded by every base


@pytest.fixture
def shared(sandbox):
    """A Standard cluster open to two teams, each with its Hugging Face token saved."""
    sandbox.config(operation_delay=0.05, model_load_delay=0.05)
    teams = [TeamFactory(slug="team-a"), TeamFactory(slug="team-b")]
    for team in teams:
        admin = UserFactory(username=f"{team.slug}-admin")
        Membership.objects.create(team=team, user=admin, role=Role.ADMIN)
        hf_token_save(team=team, token=HF_TOKEN, by=admin)
    cluster = sandbox_cluster(teams[0], name="shared-std", autopilot=False)
    cluster.teams.add(teams[1])
    return cluster, teams


def _row(team: Any, slug: str, target: Any, bound: Any) -> Deployment:
    columns = {name: getattr(bound, name) for name in type(bound).COLUMN_FIELDS}
    row = DeploymentFactory(
        team=team,
        slug=slug,
        target=target.name,
        spec=bound.spec_json(),
        status=Status.APPROVED,
        **columns,
    )
    return cast(Deployment, row)


def gateway(team: Any, slug: str, cluster: Cluster) -> Deployment:
    """An approved gateway deployment of `team` on the cluster, bound as a request is."""
    assert GATEWAY.bind_team is not None
    spec = GkeInferenceGatewaySpec(cluster=cluster.pk, machine_type="a3-highgpu-1g")
    bound, errors = GATEWAY.bind_team(spec, offer_for_team(team=team))
    assert not errors, errors
    return _row(team, slug, GATEWAY, bound)


def adapter_errors(base: Deployment, name: str) -> dict[str, list[str]]:
    assert ADAPTER.bind_team is not None
    spec = GatewayAdapterSpec(base=base.pk, name=name, source=f"someone/{name}-r8", rank=8)
    return dict(ADAPTER.bind_team(spec, offer_for_team(team=base.team))[1])


def adapter(base: Deployment, slug: str, name: str) -> Deployment:
    """An approved adapter request on a ready base, bound as a request is."""
    assert ADAPTER.bind_team is not None
    spec = GatewayAdapterSpec(base=base.pk, name=name, source=f"someone/{name}-r8", rank=8)
    bound, errors = ADAPTER.bind_team(spec, offer_for_team(team=base.team))
    assert not errors, errors
    return _row(base.team, slug, ADAPTER, bound)


def drive(*rows: Deployment, until: Status, timeout: float = 120) -> None:
    """Advance every row, in turn, until each is `until` (a failure stops the test)."""
    pks = [r.pk for r in rows]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = {d.pk: d for d in Deployment.objects.filter(pk__in=pks)}
        failed = [d for d in current.values() if d.status == Status.FAILED]
        assert not failed, [(d.slug, d.failure_step, d.failure_message) for d in failed]
        if all(d.status == until for d in current.values()):
            return
        for pk in pks:
            StepRun.objects.filter(
                owner_kind="deployment", owner_id=pk, outcome__in=IN_FLIGHT_OUTCOMES
            ).update(not_before=None)
            Deployment.objects.filter(pk=pk).update(advance_due_at=None)
            runner.advance("deployment", pk)
        time.sleep(0.01)
    states = {d.slug: d.status for d in Deployment.objects.filter(pk__in=pks)}
    raise AssertionError(f"not all {until}: {states}")


def settle(row: Deployment, *, tries: int = 400) -> Deployment:
    """Advance one row until it is ready or failed (at most `tries` passes): the row then."""
    for _ in range(tries):
        row.refresh_from_db()
        if row.status in (Status.READY, Status.FAILED):
            break
        Deployment.objects.filter(pk=row.pk).update(advance_due_at=None)
        StepRun.objects.filter(owner_id=row.pk, outcome__in=IN_FLIGHT_OUTCOMES).update(
            not_before=None
        )
        runner.advance("deployment", row.pk)
        time.sleep(0.01)
    return row


def _conn(cluster: Cluster) -> kube.ClusterConn:
    return kube.ClusterConn(cluster.endpoint, cluster.ca_certificate)


def held(cluster: Cluster, teams: list[Any]) -> set[tuple[str, str | None, str]]:
    """What the cluster holds that Hangar made for deployments: (kind, namespace, name)."""
    conn = _conn(cluster)
    found: set[tuple[str, str | None, str]] = set()
    for team in teams:
        ns = identity.team_namespace(team.slug)
        for api_version, kind in OWNED_KINDS:
            # Hangar's (the namespace's `default` account is Kubernetes' own).
            for obj in kube.list_objects(
                conn, api_version, kind, ns, label_selector="managed-by=hangar"
            ):
                found.add((kind, ns, obj["metadata"]["name"]))
    for api_version, kind in CLUSTER_WIDE:
        for obj in kube.list_objects(conn, api_version, kind, label_selector="managed-by=hangar"):
            found.add((kind, None, obj["metadata"]["name"]))
    return found


def called_for(rows: list[Deployment]) -> set[tuple[str, str | None, str]]:
    """What the ready rows' deploy plans apply, but what a team or the cluster shares."""
    shared_kinds = {"Namespace", "ResourceQuota", "CustomResourceDefinition"}
    return {
        (s.params["kind"], s.params.get("namespace"), s.params["name"])
        for row in rows
        for s in plan_for(row, Phase.DEPLOY).steps
        if s.action in APPLIES and s.params["kind"] not in shared_kinds
    }


def pools(cluster: Cluster) -> dict[str, dict[str, str]]:
    """The cluster's node pools but its default one: name → the labels on its nodes."""
    names = [
        s.params["name"]
        for row in Deployment.objects.filter(target=GATEWAY.name)
        for s in plan_for(row, Phase.DEPLOY).steps
        if s.key == "create_node_pool"
    ]
    found = {name: container.node_pool_labels(name) for name in names}
    return {name.rsplit("/", 1)[-1]: got[1] for name, got in found.items() if got}


def syncer_list(cluster: Cluster, base: Deployment) -> dict[str, list[str]]:
    """The base's lora-syncer ConfigMap as the cluster holds it: ids to load and unload."""
    step = plan_for(base, Phase.DEPLOY).step("apply_configmap_adapters")
    obj = kube.read(
        _conn(cluster), "v1", "ConfigMap", step.params["name"], step.params["namespace"]
    )
    assert obj is not None, "the base's adapter list is gone"
    config = yaml.safe_load(obj["data"]["configmap.yaml"])["vLLMLoRAConfig"]
    return {
        key: [m["id"] for m in (config.get(key) or {}).get("models", [])]
        for key in ("ensureExist", "ensureNotExist")
    }


def assert_cluster_matches_live_rows(cluster: Cluster, teams: list[Any]) -> None:
    """Exactly what the ready rows call for: none of theirs missing, nothing else left."""
    ready = list(Deployment.objects.filter(status=Status.READY).order_by("pk"))
    assert held(cluster, teams) == called_for(ready)
    assert set(pools(cluster)) == {
        plan_for(r, Phase.DEPLOY).step("create_node_pool").params["name"].rsplit("/", 1)[-1]
        for r in ready
        if r.target == GATEWAY.name
    }
    for base in (r for r in ready if r.target == GATEWAY.name):
        on_it = [r for r in ready if r.target == ADAPTER.name and r.spec["base"] == base.pk]
        wanted = STARTERS + [GatewayAdapterSpec.from_deployment(r).name for r in on_it]
        assert syncer_list(cluster, base)["ensureExist"] == wanted
        # Its objectives as its rows' plans make them: their pool, their priority.
        conn = _conn(cluster)
        for row in [base, *on_it]:
            for step in plan_for(row, Phase.DEPLOY).steps:
                if step.params.get("kind") != "InferenceObjective":
                    continue
                obj = kube.read(
                    conn,
                    step.params["api_version"],
                    "InferenceObjective",
                    step.params["name"],
                    step.params["namespace"],
                )
                assert obj is not None and obj["spec"] == (step.request.body or {})["spec"]
                assert obj["metadata"]["labels"]["hangar-deployment-id"] == str(row.pk)


def test_two_teams_whose_slugs_share_40_characters_keep_apart(shared):
    cluster, (team_a, team_b) = shared
    a, b = gateway(team_a, SLUG_A, cluster), gateway(team_b, SLUG_B, cluster)
    drive(a, b, until=Status.READY)

    found = pools(cluster)
    assert len(found) == 2  # two pools: B does not run on A's
    for row in (a, b):
        name = plan_for(row, Phase.DEPLOY).step("create_node_pool").params["name"]
        labels = found[name.rsplit("/", 1)[-1]]
        assert labels["hangar-deployment-id"] == str(row.pk)
        assert labels["hangar-team"] == row.team.slug
    assert_cluster_matches_live_rows(cluster, [team_a, team_b])

    # B's tear down removes B's, and nothing of A's, which stays ready.
    drive(tear_down(b), until=Status.TORN_DOWN)
    a.refresh_from_db()
    assert a.status == Status.READY
    assert_cluster_matches_live_rows(cluster, [team_a, team_b])
    drive(tear_down(a), until=Status.TORN_DOWN)
    assert held(cluster, [team_a, team_b]) == set() and pools(cluster) == {}


def test_two_gateway_deployments_of_one_team_keep_their_own_objectives(shared):
    cluster, (team, _) = shared
    first, second = gateway(team, "llama-one", cluster), gateway(team, "llama-two", cluster)
    drive(first, second, until=Status.READY)
    assert_cluster_matches_live_rows(cluster, [team])

    drive(tear_down(first), until=Status.TORN_DOWN)
    second.refresh_from_db()
    assert second.status == Status.READY
    # The second's objectives still point at its own pool, with the seed's priorities.
    assert_cluster_matches_live_rows(cluster, [team])
    drive(tear_down(second), until=Status.TORN_DOWN)
    assert held(cluster, [team]) == set()


def test_an_adapter_named_like_the_base_model_is_refused(shared):
    cluster, (team, _) = shared
    base = gateway(team, "llama-lora", cluster)
    drive(base, until=Status.READY)
    # meta-llama/Llama-3.1-8B-Instruct's objective name; and a starter adapter's name.
    refused = adapter_errors(base, "meta-llama-llama-3-1-8b-instruct")
    assert "same model name and InferenceObjective" in " ".join(refused["name"])
    assert "already answers to food-review" in " ".join(adapter_errors(base, "food-review")["name"])
    # Another live adapter's name, once requested, is taken too.
    drive(adapter(base, "sql-lora", "sql-expert"), until=Status.READY)
    assert "already answers to sql-expert" in " ".join(adapter_errors(base, "sql-expert")["name"])
    assert_cluster_matches_live_rows(cluster, [team])


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_adapters_added_and_torn_down_in_any_order_leave_what_the_live_rows_call_for(shared, order):
    cluster, (team, other) = shared
    base = gateway(team, "llama-lora", cluster)
    neighbour = gateway(other, "llama-lora-b", cluster)  # the other team's, beside it
    drive(base, neighbour, until=Status.READY)
    names = ["sql-expert", "chat-style", "summarise"]
    # Requested together: each plan reads the others' rows, so none drops another.
    rows = [adapter(base, f"lora-{i}", name) for i, name in enumerate(names)]
    drive(*rows, until=Status.READY)
    assert_cluster_matches_live_rows(cluster, [team, other])

    for i in order:
        drive(tear_down(rows[i]), until=Status.TORN_DOWN)
        assert_cluster_matches_live_rows(cluster, [team, other])
        assert names[i] in syncer_list(cluster, base)["ensureNotExist"]
    # One more after them all, then the base: nothing of theirs left, the neighbour whole.
    late = adapter(base, "lora-late", "late-one")
    drive(late, until=Status.READY)
    assert_cluster_matches_live_rows(cluster, [team, other])
    drive(tear_down(base), late, until=Status.TORN_DOWN)
    assert_cluster_matches_live_rows(cluster, [team, other])
    neighbour.refresh_from_db()
    assert neighbour.status == Status.READY


def test_a_base_torn_down_under_its_adapters_takes_them_first(shared):
    cluster, (team, _) = shared
    base = gateway(team, "llama-lora", cluster)
    drive(base, until=Status.READY)
    rows = [adapter(base, "sql-lora", "sql-expert"), adapter(base, "chat-lora", "chat-style")]
    drive(*rows, until=Status.READY)
    assert [d.pk for d in live_dependents(base)] == [r.pk for r in rows]

    base = tear_down(base)
    # The adapters go first, on their own records; the base waits for them.
    for row in rows:
        row.refresh_from_db()
        assert row.status == Status.TEARING_DOWN
        said = DeploymentEvent.objects.filter(deployment=row, to_status=Status.TEARING_DOWN)
        assert "its base llama-lora is being torn down" in said.get().message
    assert "after what runs on it: sql-lora, chat-lora" in (
        DeploymentEvent.objects.filter(deployment=base, to_status=Status.TEARING_DOWN).get().message
    )
    runner.advance("deployment", base.pk)
    assert not runs_of("deployment", base.pk).filter(phase="teardown").exists()

    drive(base, *rows, until=Status.TORN_DOWN)
    # The base's first tear-down step ran after the adapters' last.
    first_base = runs_of("deployment", base.pk).filter(phase="teardown").order_by("pk").first()
    for row in rows:
        last = runs_of("deployment", row.pk).filter(phase="teardown").order_by("pk").last()
        assert first_base is not None and last is not None and last.pk < first_base.pk
    # Nothing left, and no orphan: the base's adapter list was not made again.
    assert held(cluster, [team]) == set() and pools(cluster) == {}


def test_a_dependent_whose_base_is_not_ready_is_never_ready(shared):
    cluster, (team, _) = shared
    base = gateway(team, "llama-lora", cluster)
    drive(base, until=Status.READY)
    row = adapter(base, "sql-lora", "sql-expert")
    # The base fails (a re-rollout gone wrong, say) before the adapter's rollout ends.
    Deployment.objects.filter(pk=base.pk).update(status=Status.FAILED)
    settle(row, tries=200)
    assert row.status == Status.FAILED
    assert row.failure_step == "base" and "llama-lora is failed" in row.failure_message
    said = DeploymentEvent.objects.filter(deployment=row, to_status=Status.FAILED).get()
    assert said.message.startswith("Not ready: Its base deployment llama-lora")


def test_what_another_owns_under_the_name_is_neither_adopted_nor_deleted(shared, sandbox):
    cluster, (team_a, team_b) = shared
    a = gateway(team_a, "llama-lora", cluster)
    # Someone made a node pool under the name A's plan uses, for another deployment.
    create = plan_for(a, Phase.DEPLOY).step("create_node_pool")
    body = create.request.body or {}
    foreign = {"hangar-team": "team-b", "hangar-deployment": "x", "hangar-deployment-id": "999"}
    config = {**body["nodePool"]["config"], "labels": foreign, "resourceLabels": foreign}
    op = container.create_node_pool(
        parent=create.params["parent"], body={"nodePool": {**body["nodePool"], "config": config}}
    )
    deadline = time.monotonic() + 120  # seconds: the sandbox's 0.05 s, on a loaded machine
    while not container.operation_state(op).done:
        assert time.monotonic() < deadline, "the sandbox never finished the node pool"
        time.sleep(0.05)
    settle(a)
    assert a.status == Status.FAILED and a.failure_step == "create_node_pool"
    assert "belongs to deployment x (id 999) of team team-b" in a.failure_message
    # Its tear down leaves the other's pool where it is.
    drive(tear_down(a), until=Status.TORN_DOWN)
    assert container.node_pool_labels(create.params["name"]) is not None

    # The same for a Kubernetes object: a ConfigMap made by hand under a deployment's name.
    b = gateway(team_b, "llama-lora", cluster)
    step = plan_for(b, Phase.DEPLOY).step("apply_configmap_adapters")
    manual = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": step.params["name"], "namespace": step.params["namespace"]},
        "data": {"mine": "yes"},
    }
    conn = _conn(cluster)
    # The team's namespace as Hangar makes it (an unlabelled one would be refused too).
    team_ns = {"name": step.params["namespace"], "labels": {"hangar-team": "team-b"}}
    kube.apply(conn, {"apiVersion": "v1", "kind": "Namespace", "metadata": team_ns})
    kube.apply(conn, manual)
    settle(b)
    assert b.status == Status.FAILED and b.failure_step == "apply_configmap_adapters"
    assert "carries none of Hangar's owner labels" in b.failure_message
    drive(tear_down(b), until=Status.TORN_DOWN)
    kept = kube.read(conn, "v1", "ConfigMap", step.params["name"], step.params["namespace"])
    assert kept is not None and kept["data"] == {"mine": "yes"}


def test_an_adapter_lost_at_every_step_boundary_is_replaced_without_duplicates(shared):
    """The crash-at-every-step walk (tests/runbook/test_crash_at_every_step.py) for the
    adapter's plans, which need a ready base and so are no plan variant of their own."""
    cluster, (team, _) = shared
    base = gateway(team, "llama-lora", cluster)
    drive(base, until=Status.READY)
    row = adapter(base, "sql-lora", "sql-expert")
    crashed = _roll_with_crashes(row, Status.READY)
    assert_cluster_matches_live_rows(cluster, [team])
    crashed += _roll_with_crashes(tear_down(row), Status.TORN_DOWN)
    expected = [
        (phase.value, step.key, when)
        for phase in (Phase.DEPLOY, Phase.TEARDOWN)
        for step in plan_for(row, phase).steps
        for when in ("before", "after")
    ]
    assert sorted(crashed) == sorted(expected)
    assert_cluster_matches_live_rows(cluster, [team])
    assert syncer_list(cluster, base)["ensureNotExist"] == ["sql-expert"]
