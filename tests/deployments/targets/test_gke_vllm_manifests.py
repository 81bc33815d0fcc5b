"""Seed 003's manifests as Hangar writes them: valid for Kubernetes, the seed's mistakes
corrected, Workload Identity names derived from the universe."""

import kubernetes_validate
import pytest

from deployments.targets.gke_vllm import identity, manifests

UNIVERSE = "s3nsapis.fr"
PROJECT = "acme-llm"
NS = identity.team_namespace("ml-research")
LABELS = {"managed-by": "hangar", "hangar-deployment": "gemma-26b", "hangar-team": "ml-research"}


def server(**changes) -> manifests.ModelServer:
    values = {
        "name": "gemma-26b",
        "namespace": NS,
        "labels": LABELS,
        "hf_id": "google/gemma-4-26B-A4B-it",
        "model_label": "gemma-4-26b-a4b-it",
        "bucket": "gemma-26b-weights-1a2b3c4d",
        "ksa": "gemma-26b",
        "gsa_email": identity.service_account_email("hg-gemma-26b", PROJECT, UNIVERSE),
        "machine_type": "a3-edgegpu-8g-nolssd",
        "accelerator": "nvidia-h100-80gb",
        "node_gpus": 8,
        "universe": UNIVERSE,
    }
    return manifests.ModelServer(**{**values, **changes})


def all_objects(s=None):
    s = s or server()
    return [
        manifests.namespace(NS, "ml-research"),
        manifests.gpu_quota(NS, "ml-research", 8),
        *manifests.server_objects(s),
    ]


# The ComputeClass is a custom resource: the sandbox checks it as GKE documents it.
CORE = [o for o in all_objects() if o["kind"] != "ComputeClass"]


@pytest.mark.parametrize("obj", CORE, ids=lambda o: o["kind"])
def test_core_objects_are_valid_kubernetes_strictly(obj):
    kubernetes_validate.validate(obj, "1.34.0", strict=True)


def test_every_object_is_hangars_and_the_deployments_carry_its_labels():
    objects = all_objects()
    assert all(o["metadata"]["labels"]["managed-by"] == "hangar" for o in objects)
    for obj in manifests.server_objects(server()):
        assert obj["metadata"]["labels"]["hangar-deployment"] == "gemma-26b"
        if obj["kind"] != "ComputeClass":  # cluster-scoped
            assert obj["metadata"]["namespace"] == "hangar-ml-research"


def test_the_pod_runs_as_the_workload_identity_account():
    pod = manifests.deployment(server())["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "gemma-26b"
    ksa = manifests.service_account(server())
    assert ksa["metadata"]["annotations"] == {
        "iam.gke.io/gcp-service-account": "hg-gemma-26b@acme-llm.s3ns.iam.gserviceaccount.com"
    }


def test_openai_server_probes_and_the_seeds_resources():
    container = manifests.deployment(server())["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][:3] == ["python", "-m", "vllm.entrypoints.openai.api_server"]
    assert "--served-model-name=google/gemma-4-26B-A4B-it" in container["args"]
    assert {"--tool-call-parser=gemma4", "--reasoning-parser=gemma4"} <= set(container["args"])
    assert not any(a.startswith("--max-model-len") for a in container["args"])
    assert container["startupProbe"]["httpGet"] == {"path": "/health", "port": 8080}
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    assert (
        container["resources"]["requests"]
        == container["resources"]["limits"]
        == {"cpu": "20", "memory": "80Gi", "ephemeral-storage": "80Gi", "nvidia.com/gpu": "1"}
    )
    with_len = manifests.deployment(server(max_model_len=16384))
    assert "--max-model-len=16384" in with_len["spec"]["template"]["spec"]["containers"][0]["args"]


def test_pod_labels_and_memory_backed_shm():
    template = manifests.deployment(server())["spec"]["template"]
    labels = template["metadata"]["labels"]
    assert labels["ai.gke.io/model"] == "gemma-4-26b-a4b-it"
    assert labels["ai.gke.io/inference-server"] == "vllm"
    assert template["spec"]["volumes"] == [{"name": "dshm", "emptyDir": {"medium": "Memory"}}]
    assert template["spec"]["nodeSelector"] == {"cloud.google.com/compute-class": "gemma-26b"}


def test_service_is_private():
    assert manifests.service(server())["spec"]["type"] == "ClusterIP"


@pytest.mark.parametrize(
    ("project", "universe", "email", "member"),
    [
        (
            "acme-llm",
            "s3nsapis.fr",
            "sa@acme-llm.s3ns.iam.gserviceaccount.com",
            "serviceAccount:acme-llm.s3ns.svc.id.goog[ns/ksa]",
        ),
        (
            "example.com:acme",
            "s3nsapis.fr",
            "sa@acme.example.com.s3ns.iam.gserviceaccount.com",
            "serviceAccount:acme.example.com.s3ns.svc.id.goog[ns/ksa]",
        ),
        (
            "acme-llm",
            "googleapis.com",
            "sa@acme-llm.iam.gserviceaccount.com",
            "serviceAccount:acme-llm.svc.id.goog[ns/ksa]",
        ),
    ],
)
def test_identity_names_derive_from_the_universe(project, universe, email, member):
    assert identity.service_account_email("sa", project, universe) == email
    assert identity.workload_identity_member(project, universe, "ns", "ksa") == member


def test_an_unknown_universe_is_refused():
    with pytest.raises(ValueError, match="Unknown universe"):
        identity.workload_pool("p", "example.org")
