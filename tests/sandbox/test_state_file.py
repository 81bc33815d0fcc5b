"""The sandbox keeps its state in a file across restarts (sandbox/server/snapshot.py).

Each test runs its own sandbox with a state file (the session's keeps its state in
memory), with credentials from that sandbox's own metadata server: access tokens are
the issuing sandbox's, and a restart keeps them valid, as clients cache them.
"""

import asyncio
import os
import signal
import time

import pytest
from google.api_core.client_options import ClientOptions
from google.cloud import container_v1, secretmanager
from google.cloud import storage as gcs  # type: ignore[attr-defined]
from google.oauth2.credentials import Credentials

from sandbox.core import auth
from sandbox.core.auth import ACCESS_TOKEN_LIFETIME, TokenIssuer
from sandbox.core.config import Config
from sandbox.server import snapshot
from sandbox.server.app import new_state
from sandbox.server.snapshot import SAVE_EVERY_SECONDS
from sandbox.testing import SandboxClient, SandboxProcess
from tests.sandbox.kube.kubectl import access_token

PROJECT = "hangar-sandbox"
PARENT = f"projects/{PROJECT}/locations/us-central1"
CLUSTER = f"{PARENT}/clusters/kept"


class Kept:
    """A sandbox process with a state file, restartable on its port."""

    def __init__(self, state_file, delay: float) -> None:
        self.state_file = state_file
        self.delay = delay
        self.process = SandboxProcess.start(
            port=0, operation_delay=delay, token_delay=0, state_file=state_file
        )
        self.port = int(self.process.url.rsplit(":", 1)[1])
        self.credentials = Credentials(access_token(self.process.url))

    def restart(self, *, kill: bool = False) -> None:
        if kill:  # no chance to save: only what the running sandbox wrote is there
            os.kill(self.process.proc.pid, signal.SIGKILL)
            self.process.proc.wait()
        else:
            self.process.stop()
        self.process = SandboxProcess.start(
            port=self.port, operation_delay=self.delay, token_delay=0, state_file=self.state_file
        )

    def options(self) -> ClientOptions:
        return ClientOptions(api_endpoint=self.process.url)

    def gke(self) -> container_v1.ClusterManagerClient:
        return container_v1.ClusterManagerClient(
            transport="rest", client_options=self.options(), credentials=self.credentials
        )

    def secrets(self) -> secretmanager.SecretManagerServiceClient:
        return secretmanager.SecretManagerServiceClient(
            transport="rest", client_options=self.options(), credentials=self.credentials
        )

    def storage(self) -> gcs.Client:
        return gcs.Client(
            project=PROJECT,
            credentials=self.credentials,
            client_options={"api_endpoint": self.process.url},
        )


@pytest.fixture
def kept(tmp_path):
    sandbox = Kept(tmp_path / "var" / "sandbox-state.pickle", delay=0.2)
    yield sandbox
    sandbox.process.stop()


def _autopilot() -> container_v1.Cluster:
    return container_v1.Cluster(name="kept", autopilot=container_v1.Autopilot(enabled=True))


def test_clusters_secrets_and_buckets_survive_a_restart(kept):
    kept.gke().create_cluster(parent=PARENT, cluster=_autopilot())
    kept.secrets().create_secret(
        parent=f"projects/{PROJECT}",
        secret_id="hf-token",
        secret={"replication": {"automatic": {}}},
    )
    kept.storage().create_bucket("hangar-weights-kept", location="us-central1")
    time.sleep(0.5)
    running = kept.gke().get_cluster(name=CLUSTER)
    assert running.status == container_v1.Cluster.Status.RUNNING

    kept.restart()

    again = kept.gke().get_cluster(name=CLUSTER)
    assert again.status == container_v1.Cluster.Status.RUNNING
    assert again.endpoint == running.endpoint
    secret = kept.secrets().get_secret(name=f"projects/{PROJECT}/secrets/hf-token")
    assert secret.name.endswith("/secrets/hf-token")
    assert kept.storage().get_bucket("hangar-weights-kept").location == "US-CENTRAL1"
    assert not kept.state_file.with_name(kept.state_file.name + ".tmp").exists()


def test_an_operation_in_flight_at_shutdown_has_finished_after_the_restart(tmp_path):
    slow = Kept(tmp_path / "state.pickle", delay=30)
    try:
        op = slow.gke().create_cluster(parent=PARENT, cluster=_autopilot())
        slow.restart()
        done = slow.gke().get_operation(name=f"{PARENT}/operations/{op.name}")
        assert done.status == container_v1.Operation.Status.DONE
        assert slow.gke().get_cluster(name=CLUSTER).status == container_v1.Cluster.Status.RUNNING
    finally:
        slow.process.stop()


def test_a_killed_sandbox_keeps_what_it_saved_while_running(kept):
    kept.gke().create_cluster(parent=PARENT, cluster=_autopilot())
    time.sleep(0.5)
    kept.gke().get_cluster(name=CLUSTER)  # settles the operation
    time.sleep(SAVE_EVERY_SECONDS * 2.5)  # a periodic save, nothing in flight

    kept.restart(kill=True)

    assert kept.gke().get_cluster(name=CLUSTER).status == container_v1.Cluster.Status.RUNNING


def test_an_unreadable_state_file_is_set_aside(tmp_path):
    state = tmp_path / "state.pickle"
    state.write_bytes(b"not a pickle")
    sandbox = Kept(state, delay=0.2)
    try:
        assert (tmp_path / "state.pickle.unreadable").read_bytes() == b"not a pickle"
        with pytest.raises(Exception, match="Not found"):
            sandbox.gke().get_cluster(name=CLUSTER)
    finally:
        sandbox.process.stop()


def test_a_state_file_kept_for_another_project_is_set_aside(tmp_path):
    state = tmp_path / "state.pickle"
    first = Kept(state, delay=0.2)
    first.secrets().create_secret(
        parent=f"projects/{PROJECT}",
        secret_id="hf-token",
        secret={"replication": {"automatic": {}}},
    )
    first.process.stop()
    other = SandboxProcess.start(port=0, token_delay=0, state_file=state, project="other-project")
    try:
        assert (tmp_path / "state.pickle.unreadable").exists()
        assert SandboxClient(other.url).state()["secrets"] == []
    finally:
        other.stop()


def test_a_truncated_state_file_is_set_aside_and_the_sandbox_starts_empty(kept):
    kept.gke().create_cluster(parent=PARENT, cluster=_autopilot())
    time.sleep(0.5)
    kept.gke().get_cluster(name=CLUSTER)
    kept.process.stop()
    whole = kept.state_file.read_bytes()
    kept.state_file.write_bytes(whole[: len(whole) // 2])  # as a copy cut short would be

    kept.restart()  # stopped already: starts it again on the cut file

    assert kept.state_file.with_name(kept.state_file.name + ".unreadable").exists()
    assert (
        SandboxClient(kept.process.url).state()["operations"] == []
    )  # the cluster's create is not there


def test_a_failed_write_keeps_the_last_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "state.pickle"
    snapshot.write(path, b"first")

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(snapshot.os, "replace", full_disk)
    with pytest.raises(OSError, match="No space"):
        snapshot.write(path, b"second")
    assert path.read_bytes() == b"first"
    assert list(tmp_path.iterdir()) == [path]


def test_periodic_saves_go_on_after_one_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(snapshot, "SAVE_EVERY_SECONDS", 0.01)
    state = new_state(Config())
    keeper = snapshot.Keeper(state, tmp_path / "state.pickle")
    advance = state.advance
    calls = []

    def broken_once() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a sandbox bug while settling")
        advance()

    monkeypatch.setattr(state, "advance", broken_once)

    async def run() -> None:
        task = keeper.start()
        deadline = time.monotonic() + 30
        while not keeper.path.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(run())
    assert len(calls) >= 2
    assert keeper.path.exists()


def test_expired_access_tokens_are_forgotten_when_one_is_issued(monkeypatch):
    issuer = TokenIssuer("a@hangar-sandbox.iam.gserviceaccount.com")
    old, _ = issuer.issue_access_token()
    later = time.time() + ACCESS_TOKEN_LIFETIME + 1
    monkeypatch.setattr(auth.time, "time", lambda: later)
    new, _ = issuer.issue_access_token()
    assert not issuer.access_token_valid(old)
    assert issuer.access_token_valid(new)
    assert list(issuer._access_tokens) == [new]
