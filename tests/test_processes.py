"""The helpers that wait for a test's server (tests/processes.py), against a tiny server
on localhost that accepts connections but answers none until it is ready."""

import socket
import subprocess
import sys
import time

import pytest

from tests.processes import answers, wait_until

# Accepts every connection; answers none of them for its first `ready_after` seconds
# (as a server too busy to reply within the probe's timeout), then answers each with 200.
SLOW_SERVER = r"""
import socket, sys, time
port, ready_after = int(sys.argv[1]), float(sys.argv[2])
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
