"""Cluster plans are pure data: the exact container_v1 requests and the gcloud lines."""

from clusters.choices import ClusterPhase
from clusters.plans import ClusterRef, cluster_plan
from runbook.plan import deadline_of

REF = ClusterRef("hangar-sandbox", "us-central1", "llm-ap", "RAPID")


def test_create_clears_a_failed_create_then_is_create_auto_then_read():
    plan = cluster_plan(ClusterPhase.CREATE, REF)
    assert [s.action for s in plan.steps] == [
        "container.remove_failed_cluster",
        "container.create_cluster",
        "container.read_cluster",
    ]
    create = plan.steps[1]
    assert create.request.method == "POST"
    assert create.request.path == "/v1/projects/hangar-sandbox/locations/us-central1/clusters"
    assert create.request.body == {
        "cluster": {
            "name": "llm-ap",
            "autopilot": {"enabled": True},
            "resourceLabels": {"managed-by": "hangar"},
            "releaseChannel": {"channel": "RAPID"},
        }
    }
    assert create.cli == (
        "gcloud container clusters create-auto llm-ap --project=hangar-sandbox "
        "--location=us-central1 --release-channel=rapid"
    )
    assert create.required_role == "roles/container.admin"


def test_register_only_reads():
    plan = cluster_plan(ClusterPhase.REGISTER, REF)
    (read,) = plan.steps
    assert read.request.method == "GET"
    assert read.request.path.endswith("/clusters/llm-ap")
    assert read.required_role == "roles/container.clusterViewer"


def test_delete_deletes():
    (delete,) = cluster_plan(ClusterPhase.DELETE, REF).steps
    assert delete.request.method == "DELETE"
    assert delete.cli.endswith(
        "delete llm-ap --project=hangar-sandbox --location=us-central1 --quiet"
    )


def test_cluster_operations_declare_their_deadline_with_the_reason():
    create_plan = cluster_plan(ClusterPhase.CREATE, REF)
    delete_plan = cluster_plan(ClusterPhase.DELETE, REF)
    waits = [*create_plan.steps[:2], *delete_plan.steps]
    for step in waits:
        deadline = deadline_of(step)
        assert deadline is not None, step.key
        assert deadline.seconds == 3600
        assert "3600 s" in deadline.reason
    # Reading a cluster is one call: no wait, no deadline of its own.
    assert deadline_of(create_plan.steps[2]) is None
