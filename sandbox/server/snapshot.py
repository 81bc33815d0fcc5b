"""The sandbox's state kept across restarts, in one file (`--state-file`).

Google keeps what it holds while its clients restart; a sandbox that forgot its clusters,
services, buckets and secrets on every `scripts/run` would leave Hangar listing ready
clusters that no longer answer. So, when started with a state file (scripts/run passes
var/sandbox-state.pickle; tests keep their state in memory unless they pass one), the
sandbox loads it at start and writes it:
- at shutdown, after settling what is in flight: time passes while the sandbox is down,
  as it does for Google, so operations finish and pods get on with their lives;
- every SAVE_EVERY_SECONDS while it runs, when something changed and nothing is in flight
  (an operation's or a pod's next move is code, not data: it is never written half done).
Each write is atomic (a temporary file renamed over the old one), so a sandbox killed
mid-write leaves the previous whole file.

What is kept: every API's store (sandbox/server/app.py new_state), finished operations
(clients poll them after the restart), issued credentials (clients cache tokens), the
project's setup and the sandbox clock. A cluster's control plane is served again, on its
old port when it is free (the endpoint Hangar holds stays right) or on a new one (GKE's
get_cluster then reports it, as it does when a control plane moves). Not kept: faults and
the request log (a test's business), and the config (the command line's): a file kept for
another project (`--project`, `--project-number`, `--service-account`) is set aside.

The file is a pickle the sandbox writes for itself under var/; it is never read from
anywhere else. One that cannot be read (code changed under it) is set aside, not fatal.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import math
import os
import pickle
import sys
from functools import partial
from pathlib import Path
from typing import Any

from google.protobuf.message import Message

from sandbox.core.operations import Operation
from sandbox.core.state import State
from sandbox.gke.clusters import ContainerStore
from sandbox.kube.control_plane import ControlPlane, ControlPlanes

FORMAT = 1
SAVE_EVERY_SECONDS = 2.0
# Pods that crash keep scheduling their restart: settling stops after this many moves.
SETTLE_LIMIT = 10_000


def _same(value: Message) -> Message:
    return value


def _finished() -> Message:
    raise RuntimeError("a restored operation is done; it never runs again")


def _operation(fields: dict[str, Any]) -> Operation:
    return Operation(**fields)


def _plane(cluster: str, endpoint: str, tls: Any, kube: Any, metrics: Any) -> ControlPlane:
    return ControlPlane(cluster=cluster, endpoint=endpoint, tls=tls, kube=kube, metrics=metrics)


class _Pickler(pickle.Pickler):
    """Keeps data and leaves out what is code: a done operation keeps its result, a
    control plane its objects (not its server). A Kubernetes store pickles as it is once
    nothing is pending in it (its view of the cluster is a partial on the GKE store)."""

    def __init__(self, file: io.BytesIO, state: State) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._state = state

    def persistent_id(self, obj: Any) -> str | None:
        # The State is the new process's own; the stores that hold it get that one back.
        return "state" if obj is self._state else None

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Operation):
            if not obj.done:
                raise ValueError(f"operation {obj.name} is in flight; settle first")
            fields = {
                **obj.__dict__,
                "metadata": partial(_same, obj.metadata()),
                "finish": _finished,
                "on_error": None,
            }
            return _operation, (fields,)
        if isinstance(obj, ControlPlane):
            return _plane, (obj.cluster, obj.endpoint, obj.tls, obj.kube, obj.metrics)
        return NotImplemented


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, state: State) -> None:
        super().__init__(file)
        self._state = state

    def persistent_load(self, pid: Any) -> Any:
        if pid == "state":
            return self._state
        raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")


def _planes(state: State) -> list[ControlPlane]:
    return list(state.store(ControlPlanes).planes.values())


def in_flight(state: State) -> bool:
    """Whether an operation or a pod still has a move to make."""
    if any(not op.done for op in state.operations.all()):
        return True
    return any(plane.kube is not None and plane.kube.pending() for plane in _planes(state))


def settle(state: State) -> None:
    """Finish what is in flight, as if the sandbox had been down long enough."""
    state.operations.advance(math.inf)
    for plane in _planes(state):
        if plane.kube is not None:
            plane.kube.settle_all(SETTLE_LIMIT)


def _project(state: State) -> list[str]:
    """The project a state belongs to: its resources, roles and tokens name it."""
    cfg = state.config
    return [cfg.project, cfg.project_number, cfg.service_account]


def dumps(state: State) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, state).dump(
        {
            "format": FORMAT,
            "project": _project(state),
            "tokens": state.tokens,
            "clock": state.clock,
            "operations": state.operations,
            "setup": state.setup,
            "stores": state.stores(),
        }
    )
    return buffer.getvalue()


def write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` whole, or leave it as it was (a failed write, a full disk
    say, leaves no temporary file behind either)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    try:
        with open(temporary, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    # The rename itself is durable once the directory is synced.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def load(state: State, path: Path) -> bool:
    """Fill `state` from `path`; False when there is no file or it cannot be read."""
    if not path.exists():
        return False
    try:
        kept = _Unpickler(io.BytesIO(path.read_bytes()), state).load()
        if kept.get("format") != FORMAT:
            raise ValueError(f"format {kept.get('format')!r}, not {FORMAT}")
        # Another project's state (the sandbox restarted with another --project, say) would
        # hold resources, roles and tokens this project denies or never issued.
        if kept.get("project") != _project(state):
            raise ValueError(f"kept for project {kept.get('project')!r}, not {_project(state)}")
    except Exception as exc:  # any unreadable file: set aside, start empty
        aside = path.with_name(path.name + ".unreadable")
        os.replace(path, aside)
        print(f"sandbox: could not read {path} ({exc}); moved to {aside}", file=sys.stderr)
        return False
    state.tokens = kept["tokens"]
    state.clock = kept["clock"]
    state.operations = kept["operations"]
    state.setup = kept["setup"]
    for store in kept["stores"]:
        state.add(store)
    return True


def serve_planes(state: State) -> None:
    """Serve each kept cluster's control plane again; call inside the running loop."""
    planes = state.store(ControlPlanes)
    containers = state.store(ContainerStore)
    for plane in list(planes.planes.values()):
        old_port = int(plane.endpoint.rsplit(":", 1)[-1] or 0)
        try:
            planes.listen(plane, old_port)
        except OSError:  # taken meanwhile: a new port, which get_cluster reports
            planes.listen(plane, 0)
        stored = containers.clusters.get(plane.cluster)
        if stored is not None:
            stored.pb.endpoint = plane.endpoint


class Keeper:
    """Loads the state at start, saves it while running and at shutdown."""

    def __init__(self, state: State, path: Path) -> None:
        self.state = state
        self.path = path
        self._written = b""

    def start(self) -> asyncio.Task[None]:
        if load(self.state, self.path):
            serve_planes(self.state)
            print(f"sandbox: state loaded from {self.path}", flush=True)
        return asyncio.get_running_loop().create_task(self._every())

    async def _every(self) -> None:
        while True:
            await asyncio.sleep(SAVE_EVERY_SECONDS)
            self._save_or_say(settle_first=False)

    def _save_or_say(self, *, settle_first: bool) -> None:
        """Save once nothing is in flight (after settling it, at shutdown). A state that
        cannot be settled or written is a sandbox bug: said, the last file kept, and the
        periodic saves go on."""
        try:
            if settle_first:
                settle(self.state)
            else:
                self.state.advance()
                if in_flight(self.state):
                    return
            self.save()
        except Exception as exc:
            print(f"sandbox: could not save its state to {self.path}: {exc!r}", file=sys.stderr)

    def save(self) -> None:
        data = dumps(self.state)
        digest = hashlib.sha256(data).digest()
        if digest != self._written:
            write(self.path, data)
            self._written = digest

    def stop(self, task: asyncio.Task[None]) -> None:
        task.cancel()
        self._save_or_say(settle_first=True)
