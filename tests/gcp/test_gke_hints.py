"""What a failure says on GKE: the Compute Engine quota and region that ran out (not Cloud
Run's "lower max instances"), the Kubernetes permission a 403 lacked (verb, resource,
namespace, from the API server's Status), and which call an error answered."""

import pytest
import requests
from google.api_core import exceptions as gexc

from gcp import kube
from gcp.errors import diagnose, failed_call, gke_quota_hint, quota_hint
from tests.gcp.test_kube import conn, namespace  # noqa: F401 - the sandbox cluster fixture

ARGS = {
    "required_role": "roles/container.developer",
    "principal": "hangar-portal@hangar-sandbox.iam.gserviceaccount.com",
    "project": "hangar-sandbox",
}
GKE_QUOTA = (
    "RESOURCE_EXHAUSTED: Insufficient regional quota to satisfy request: resource "
    "\"NVIDIA_H100_GPUS\": request requires '8.0' and is short '8.0'. project has a quota "
    "of '0.0' with '0.0' available."
)


def test_a_gke_quota_names_the_compute_engine_quota_and_region():
    hint = gke_quota_hint(GKE_QUOTA, "us-central1", "hangar-sandbox")
    assert "NVIDIA_H100_GPUS" in hint and "us-central1" in hint
    assert "service=compute.googleapis.com" in hint
    assert "max instances" not in hint


def test_quota_hints_say_what_frees_capacity_for_the_product_whose_quota_it_is():
    run = quota_hint({"quota_metric": "run.googleapis.com/nvidia_l4_gpu_allocation"}, "p")
    assert "lower max instances" in run
    compute = quota_hint(
        {"quota_metric": "compute.googleapis.com/nvidia_h100_gpus", "quota_location": "us-east4"},
        "p",
    )
    assert "max instances" not in compute
    assert "us-east4" in compute and "GPU nodes" in compute


def test_a_kubernetes_403_names_the_verb_resource_and_namespace(sandbox, conn):  # noqa: F811
    kube.apply(conn, namespace())
    sandbox.add_fault(method="PATCH", path="/namespaces/team-ml/deployments/", status=403)
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "gemma", "namespace": "team-ml"},
        "spec": {
            "selector": {"matchLabels": {"app": "gemma"}},
            "template": {
                "metadata": {"labels": {"app": "gemma"}},
                "spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai"}]},
            },
        },
    }
    with pytest.raises(gexc.Forbidden) as refused:
        kube.apply(conn, manifest)
    diagnosis = diagnose(refused.value, **ARGS)
    assert not diagnosis.transient
    hint = diagnosis.hint
    assert "may not patch deployments.apps in the namespace team-ml" in hint
    assert "container.deployments.update" in hint
    assert ARGS["principal"] in hint and "roles/container.developer" in hint
    assert failed_call(refused.value) == "server_side_apply apps/v1 Deployment team-ml/gemma"


def test_a_rest_error_names_its_call_without_the_query():
    response = requests.Response()
    response.status_code = 503
    response.request = requests.Request(
        "DELETE", "https://storage.googleapis.com/storage/v1/b/w/o/config.json?alt=json"
    ).prepare()
    error = gexc.ServiceUnavailable("try again", response=response)
    assert failed_call(error) == "DELETE /storage/v1/b/w/o/config.json"
    assert failed_call(ValueError("no call")) == ""
