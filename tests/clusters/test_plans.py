"""Cluster plans are pure data: the exact container_v1 requests and the gcloud lines."""

from clusters.choices import ClusterPhase
from clusters.plans import ClusterRef, cluster_plan

REF = ClusterRef("hangar-sandbox", "us-central1", "llm-ap", "RAPID")


def test_create_is_create_auto_then_read():
    plan = cluster_plan(ClusterPhase.CREATE, REF)
    assert [s.action for s in plan.steps] == ["container.create_cluster", "container.read_cluster"]
    create = plan.steps[0]
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
