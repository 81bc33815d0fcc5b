"""Synchronous helpers for tests: start a sandbox process and drive its control API."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from typing import Any

import requests

READY_PREFIX = "sandbox listening on "


class SandboxProcess:
    """A sandbox in a child process; `start()` returns once it is listening."""

    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc = proc
        self.url = url

    @property
    def host_port(self) -> str:
        return self.url.split("://", 1)[1]

    @classmethod
    def start(
        cls, timeout: float = 20.0, host: str = "127.0.0.1", **options: Any
    ) -> SandboxProcess:
        """Options are the command-line settings, e.g. operation_delay=0.2."""
        args = [sys.executable, "-m", "sandbox", "--host", host, "--port", "0"]
        for key, value in options.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
        proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=None, text=True, cwd=root, env=env
        )
        lines: queue.Queue[str] = queue.Queue()

        stdout = proc.stdout
        if stdout is None:  # pragma: no cover - Popen was given PIPE
            raise RuntimeError("no stdout pipe")

        def pump() -> None:
            for line in stdout:
                lines.put(line)

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                try:
                    line = lines.get(timeout=0.1)
                except queue.Empty:
                    if proc.poll() is not None:
                        raise RuntimeError(f"sandbox exited with {proc.returncode}") from None
                    continue
                if line.startswith(READY_PREFIX):
                    return cls(proc, line[len(READY_PREFIX) :].strip())
            raise RuntimeError("sandbox did not start in time")
        except BaseException:
            # Not started (late, exited, interrupted): it must not outlive its caller.
            cls(proc, url="").stop()
            raise

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SandboxClient:
    """The /_sandbox/ control API."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.http = requests.Session()

    def _call(self, method: str, action: str, **kw: Any) -> Any:
        response = self.http.request(method, f"{self.url}/_sandbox/{action}", timeout=30, **kw)
        if response.status_code >= 400:
            raise RuntimeError(f"sandbox control {action}: {response.status_code} {response.text}")
        return response.json()

    def reset(self) -> None:
        self._call("POST", "reset")

    def config(self, **settings: float) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "config", json=settings)
        return result

    def add_fault(self, **fault: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "faults", json=fault)
        return result

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def requests(
        self, path_regex: str | None = None, method: str | None = None
    ) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("path", path_regex), ("method", method)) if v}
        result: list[dict[str, Any]] = self._call("GET", "requests", params=params)
        return result

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def iam(self, **setup: list[str]) -> dict[str, Any]:
        """The portal's project roles and the accounts it may act as (`portal_roles`,
        `act_as`); with arguments, replace them."""
        if not setup:
            result: dict[str, Any] = self._call("GET", "iam")
            return result
        changed: dict[str, Any] = self._call("POST", "iam", json=setup)
        return changed

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "state")
        return result


def point_google_auth_at(host_port: str) -> None:
    """Make google-auth in this process use the sandbox's metadata server.

    GCE_METADATA_HOST is read when google-auth's metadata module is imported, so set
    the environment first and also patch the module if something imported it earlier.
    Local gcloud credentials are hidden so that google.auth.default() reaches the
    metadata server.
    """
    os.environ["GCE_METADATA_HOST"] = host_port
    os.environ["GCE_METADATA_IP"] = host_port
    os.environ.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
    os.environ["CLOUDSDK_CONFIG"] = os.path.join(
        os.path.dirname(os.path.abspath(__file__)), ".no-gcloud-config"
    )
    module = sys.modules.get("google.auth.compute_engine._metadata")
    if module is not None:
        module._GCE_METADATA_HOST = host_port  # type: ignore[attr-defined]
