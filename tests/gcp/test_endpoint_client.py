"""The smoke-test client: no redirect to another host (the request carries the portal's
credential), and a failing reply kept only as a short excerpt without credentials."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gcp.endpoint import get, post_json


class _Endpoint(BaseHTTPRequestHandler):
    seen: list[tuple[str, str]] = []

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        self.seen.append((self.headers.get("Host", ""), self.path))
        if self.path == "/away":
            self.send_response(302)
            self.send_header("Location", "http://localhost.example:9/steal")
            self.end_headers()
        elif self.path == "/here":
            self.send_response(307)
            self.send_header("Location", "/health")
            self.end_headers()
        elif self.path == "/health":
            self._send(200, b'{"ok": true}')
        else:
            echoed = f'{{"error": {{"message": "denied: {self.headers.get("Authorization")}"}}}}'
            self._send(500, echoed.encode() + b" " + b"x" * 50_000)

    def do_POST(self):
        self.do_GET()

    def _send(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def endpoint(sandbox):
    _Endpoint.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


CRED = "cloud-run-id-token"


def test_a_redirect_to_another_host_is_not_followed(endpoint):
    reply = get(address=endpoint, credential=CRED, path="/away", timeout=5)
    assert reply.status == 302
    assert "not followed" in reply.text
    assert [path for _, path in _Endpoint.seen] == ["/away"]


def test_a_redirect_on_the_same_host_is_followed(endpoint):
    reply = get(address=endpoint, credential=CRED, path="/here", timeout=5)
    assert (reply.status, reply.body) == (200, {"ok": True})


def test_a_failing_reply_is_a_short_excerpt_without_the_credential(endpoint):
    reply = post_json(address=endpoint, credential=CRED, path="/fail", body={}, timeout=5)
    assert reply.status == 500
    assert len(reply.text) <= 300
    assert "denied" in reply.text
    assert "eyJ" not in reply.text and "Bearer" not in reply.text
    assert "Content-Type" not in reply.text
