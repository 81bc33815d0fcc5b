"""The request rules: what a Cloud Run + Ollama deployment may ask for."""

from deployments.targets.cloud_run_ollama.spec import CloudRunOllamaSpec
from deployments.targets.spec import slug_errors


def test_seed_000_defaults_are_valid():
    spec = CloudRunOllamaSpec(model="gemma3-4b")
    assert spec.errors() == {}
    assert (spec.cpu, spec.memory_gib, spec.gpu_type, spec.gpu_count) == (8, 32, "nvidia-l4", 1)
    assert spec.concurrency == spec.ollama_parallel == 4
    assert (spec.max_instances, spec.timeout_seconds) == (1, 600)


def test_model_that_does_not_fit_says_how_much_it_needs_and_has():
    errors = CloudRunOllamaSpec(model="gemma3-27b", ollama_parallel=8, concurrency=8).errors()
    [message] = errors["model"]
    assert "needs about 29.5 GiB" in message
    assert "has 24 GiB" in message


def test_the_same_model_fits_with_fewer_slots():
    assert CloudRunOllamaSpec(model="gemma3-27b", ollama_parallel=4, concurrency=4).errors() == {}


def test_concurrency_above_twice_the_slots_is_refused_with_the_seeds_reason():
    errors = CloudRunOllamaSpec(model="gemma3-4b", ollama_parallel=4, concurrency=9).errors()
    [message] = errors["concurrency"]
    assert "more than twice the 4 Ollama parallel slots" in message
    assert "queue inside Ollama" in message
    assert CloudRunOllamaSpec(model="gemma3-4b", ollama_parallel=4, concurrency=8).errors() == {}


def test_gpu_minimums_region_and_count():
    errors = CloudRunOllamaSpec(
        model="gemma3-1b", cpu=2, memory_gib=8, gpu_count=2, region="us-west1"
    ).errors()
    assert set(errors) == {"cpu", "memory_gib", "gpu_count", "region"}
    assert "at least 4 CPUs" in errors["cpu"][0]
    assert "at least 16 GiB" in errors["memory_gib"][0]


def test_rtx_pro_6000_needs_its_own_minimums_and_regions():
    spec = CloudRunOllamaSpec(
        model="gemma4-31b", gpu_type="nvidia-rtx-pro-6000", region="europe-west1"
    )
    errors = spec.errors()
    assert set(errors) == {"cpu", "memory_gib", "region"}


def test_scaling_and_timeout_bounds():
    errors = CloudRunOllamaSpec(
        model="gemma3-1b", min_instances=3, max_instances=2, timeout_seconds=4000
    ).errors()
    assert set(errors) == {"min_instances", "timeout_seconds"}


def test_unknown_model_and_gpu():
    assert "model" in CloudRunOllamaSpec(model="llama-9000").errors()
    assert "gpu_type" in CloudRunOllamaSpec(model="gemma3-1b", gpu_type="nvidia-h100").errors()


def test_slug_must_be_a_dns_label():
    assert slug_errors("gemma-demo") == []
    for bad in ("Gemma", "1gemma", "gemma-", "gemma_demo", "a" * 41, ""):
        assert slug_errors(bad), bad
