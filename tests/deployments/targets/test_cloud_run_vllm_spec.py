"""CloudRunVllmSpec: what fits an L4, and the Cloud Run rules every GPU target shares."""

from deployments.targets import target_get
from deployments.targets.cloud_run_vllm.spec import CloudRunVllmSpec


def test_seed_001_defaults_fit():
    assert CloudRunVllmSpec(model="gemma-3-1b-it").errors() == {}
    assert target_get("cloud-run-vllm").spec_class is CloudRunVllmSpec


def test_a_model_too_large_for_the_gpu_is_refused():
    errors = CloudRunVllmSpec(model="gemma-3-12b-it").errors()
    assert "leaves no room" in errors["model"][0]


def test_a_context_that_does_not_fit_suggests_one_that_does():
    errors = CloudRunVllmSpec(model="gemma-3-4b-it").errors()
    [message] = errors["max_model_len"]
    suggested = int(message.rsplit("to ", 1)[1].split(" ")[0])
    assert CloudRunVllmSpec(model="gemma-3-4b-it", max_model_len=suggested).errors() == {}
    too_long = CloudRunVllmSpec(model="gemma-3-4b-it", max_model_len=suggested + 1024)
    assert "max_model_len" in too_long.errors()


def test_less_memory_utilisation_leaves_less_room():
    roomy = CloudRunVllmSpec(model="gemma-4-e4b-it", max_model_len=32768)
    tight = CloudRunVllmSpec(
        model="gemma-4-e4b-it", max_model_len=32768, gpu_memory_utilization="0.75"
    )
    assert roomy.errors() == {}
    assert "max_model_len" in tight.errors()


def test_settings_out_of_range():
    spec = CloudRunVllmSpec(
        model="gemma-3-1b-it", gpu_memory_utilization="0.99", weights_source="floppy"
    )
    errors = spec.errors()
    assert set(errors) == {"gpu_memory_utilization", "weights_source"}
    small = CloudRunVllmSpec(model="gemma-3-1b-it", cpu=2, memory_gib=8, region="us-west1")
    assert set(small.errors()) == {"cpu", "memory_gib", "region"}


def test_round_trip_through_the_row_and_gpus_held():
    spec = CloudRunVllmSpec(model="gemma-3-1b-it", max_instances=3, max_model_len=4096)
    stored = spec.spec_json()
    assert "model" not in stored
    assert (
        CloudRunVllmSpec.from_values({**stored, "model": spec.model, "region": spec.region}) == spec
    )
    assert spec.gpus_held == 3
    assert spec.needs_hf_token
    assert not CloudRunVllmSpec(model="gemma-4-e2b-it").needs_hf_token
