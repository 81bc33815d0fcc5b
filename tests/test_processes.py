"""The helpers that start and wait for a test's server (tests/processes.py, and the
sandbox's own in sandbox/testing.py), against a tiny server on localhost that accepts
connections but answers none until it is ready."""

import _thread
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sandbox import testing as sandbox_testing
from tests.processes import answers, start_server, wait_until

# Accepts every connection; answers none of them for its first `ready_after` seconds
# (as a server too busy to reply within the probe's timeout), then answers each with 200.
SLOW_SERVER = r"""
import os, socket, sys, time
port, ready_after = int(sys.argv[1]), float(sys.argv[2])
if len(sys.argv) > 3:
    with open(sys.argv[3], "w") as f:
        f.write(str(os.getpid()))
listener = socket.create_server(("127.0.0.1", port))
started, held = time.monotonic(), []
while True:
    connection, _ = listener.accept()
    if time.monotonic() - started < ready_after:
        held.append(connection)
        continue
    connection.recv(65536)
    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    connection.close()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _slow_server(ready_after: float) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-c", SLOW_SERVER, str(port), str(ready_after)])
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 10
    while True:  # listening (a connection is accepted), not yet answering
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, url
        except OSError:
            assert time.monotonic() < deadline, "the slow server did not listen"
            time.sleep(0.05)


def test_a_server_that_accepts_but_does_not_answer_yet_is_waited_for():
    """A probe's read timeout is "not ready yet", as a refused connection is: on a busy
    machine a starting server accepts before it can answer within the probe's timeout."""
    process, url = _slow_server(ready_after=1.5)
    try:
        started = time.monotonic()
        wait_until(lambda: answers(url, timeout=0.2), process, timeout=30, what="slow server")
        assert time.monotonic() - started >= 1.0
        assert answers(url)
    finally:
        process.kill()
        process.wait()


def test_a_server_that_never_answers_is_given_up_at_the_deadline():
    process, url = _slow_server(ready_after=float("inf"))
    try:
        with pytest.raises(RuntimeError, match="not ready after 1 s"):
            wait_until(lambda: answers(url, timeout=0.2), process, timeout=1, what="slow server")
    finally:
        process.kill()
        process.wait()


def _times_out(url, pid_file):
    return lambda: pid_file.exists() and answers(url, timeout=0.2)


def _interrupted(url, pid_file):
    def ready():
        if pid_file.exists():
            raise KeyboardInterrupt  # Ctrl-C, or anything else failing in the wait
        return False

    return ready


@pytest.mark.parametrize("group", [False, True], ids=["process", "process group"])
@pytest.mark.parametrize(
    ("ready", "raised"),
    [(_times_out, RuntimeError), (_interrupted, KeyboardInterrupt)],
    ids=["deadline", "interrupted"],
)
def test_a_server_that_never_becomes_ready_is_stopped(tmp_path, ready, raised, group):
    """Otherwise it outlives the run (uvicorn holding a connection to the test database,
    so the next run cannot create it)."""
    port = _free_port()
    pid_file = tmp_path / "pid"
    command = [sys.executable, "-c", SLOW_SERVER, str(port), "inf", str(pid_file)]
    probe = ready(f"http://127.0.0.1:{port}/", pid_file)
    try:
        with pytest.raises(raised):
            start_server(
                command, log=tmp_path / "log", ready=probe, what="server", timeout=1, group=group
            )
        assert not Path(f"/proc/{pid_file.read_text()}").exists(), "the server still runs"
    finally:
        if pid_file.exists() and Path(f"/proc/{pid_file.read_text()}").exists():
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def _children() -> set[int]:
    """This process's children, running or exited but not yet reaped."""
    pids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            after_name = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(after_name[1]) == os.getpid():  # state, then the parent's pid
            pids.add(int(stat.parent.name))
    return pids


@pytest.mark.parametrize("interrupted", [False, True], ids=["deadline", "interrupted"])
def test_a_sandbox_that_does_not_start_is_stopped(monkeypatch, interrupted):
    """The sandbox runs but never says it is listening (its ready line is not the one
    expected): at the deadline, or on Ctrl-C while waiting, it is stopped and reaped."""
    monkeypatch.setattr(sandbox_testing, "READY_PREFIX", "never printed")
    before = _children()
    if interrupted:
        timer = threading.Timer(1.0, _thread.interrupt_main)
        timer.start()
    with pytest.raises(KeyboardInterrupt if interrupted else RuntimeError):
        sandbox_testing.SandboxProcess.start(timeout=30 if interrupted else 1)
    assert _children() == before
