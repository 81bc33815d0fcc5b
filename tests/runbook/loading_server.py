"""A model server still loading, for smoke-test tests: it answers 503, or holds every
request (as Cloud Run holds one while an instance starts) until released, and answers 200
once `ready` is set."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LoadingServer:
    def __init__(self, *, hold: bool) -> None:
        self.ready = threading.Event()
        self.release = threading.Event()
        self.calls = 0
        state = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                state.calls += 1
                if not state.ready.is_set() and hold:
                    state.release.wait(60)  # longer than any check may take
                status = 200 if state.ready.is_set() else 503
                body = b"{}" if status == 200 else b'{"detail": "loading"}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the probe gave up waiting long ago

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
