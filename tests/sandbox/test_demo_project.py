"""The demo project scripts/run starts the sandbox with: a proxy-only subnet in the regions
it names (`--proxy-only-subnets`), which a regional GKE Gateway needs (seed 004), kept by a
reset and by a restart on a state file; a test may still remove one."""

import re
from pathlib import Path

from sandbox.core.project import GPU_REGIONS
from sandbox.testing import SandboxClient, SandboxProcess

ROOT = Path(__file__).resolve().parents[2]


def test_the_sandbox_starts_with_the_subnets_it_is_given_and_a_test_can_remove_one(tmp_path):
    state_file = tmp_path / "sandbox-state.pickle"
    options = {"proxy_only_subnets": "us-central1, europe-west1", "state_file": state_file}
    with SandboxProcess.start(port=0, **options) as process:
        client = SandboxClient(process.url)
        assert client.iam()["proxy_only_subnets"] == ["europe-west1", "us-central1"]
        client.iam(proxy_only_subnets=["europe-west1"])  # as a test does to see a refusal
        assert client.iam()["proxy_only_subnets"] == ["europe-west1"]
        client.reset()  # a reset is the project as started
        assert client.iam()["proxy_only_subnets"] == ["europe-west1", "us-central1"]
        client.iam(proxy_only_subnets=["us-central1", "us-east4"])  # one made meanwhile
        port = int(process.url.rsplit(":", 1)[1])
    # A restart keeps what was made meanwhile, and has the ones it names.
    with SandboxProcess.start(port=port, **options) as process:
        assert SandboxClient(process.url).iam()["proxy_only_subnets"] == [
            "europe-west1",
            "us-central1",
            "us-east4",
        ]


def test_without_the_option_a_project_has_no_proxy_only_subnet():
    with SandboxProcess.start(port=0) as process:
        assert SandboxClient(process.url).iam()["proxy_only_subnets"] == []


def test_scripts_run_gives_the_demo_project_a_subnet_in_every_gpu_region():
    run = (ROOT / "scripts" / "run").read_text()
    found = re.search(r"SANDBOX_PROXY_ONLY_SUBNETS:-([a-z0-9,-]+)\}", run)
    assert found, "scripts/run starts the sandbox with --proxy-only-subnets"
    assert sorted(found.group(1).split(",")) == sorted(GPU_REGIONS)
