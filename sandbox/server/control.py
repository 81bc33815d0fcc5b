"""The test control API under /_sandbox/ (no auth): reset, config, faults, request log, state."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from sandbox.artifact_registry.api import Registry
from sandbox.cloud_build.api import BuildStore
from sandbox.cloud_run import instances
from sandbox.cloud_run.store import RunStore
from sandbox.core.state import State
from sandbox.iam.service_accounts import AccountStore
from sandbox.secret_manager.api import SecretStore
from sandbox.storage.api import StorageStore


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    return json.loads(raw) if raw.strip() else {}


async def handle(request: web.Request, state: State) -> web.Response:
    action = request.path[len("/_sandbox/") :].rstrip("/")
    method = request.method
    try:
        body = await _json_body(request) if method == "POST" else {}
    except ValueError as exc:
        return _bad(f"malformed JSON: {exc}")
    if action == "health" and method == "GET":
        return web.json_response({"ok": True, "url": state.base_url})
    if action == "reset" and method == "POST":
        state.reset()
        return web.json_response({"ok": True})
    if action == "config":
        if method == "POST":
            return _set_config(state, body)
        if method == "GET":
            return web.json_response(state.config.as_dict())
    if action == "faults":
        if method == "POST":
            if not isinstance(body, dict):
                return _bad("a fault is a JSON object")
            try:
                fault = state.faults.add(body)
            except (ValueError, TypeError) as exc:
                return _bad(str(exc))
            return web.json_response(fault.describe(), status=201)
        if method == "GET":
            return web.json_response(state.faults.list())
        if method == "DELETE":
            state.faults.clear()
            return web.json_response({"ok": True})
    if action == "requests":
        if method == "GET":
            entries = state.log.select(request.query.get("path"), request.query.get("method"))
            return web.json_response(entries)
        if method == "DELETE":
            state.log.clear()
            return web.json_response({"ok": True})
    if action == "iam":
        # What an operator set up once: the portal's project roles, who it may act as.
        if method == "POST":
            try:
                state.setup.update(body)
            except ValueError as exc:
                return _bad(str(exc))
            return web.json_response(state.setup.as_dict())
        if method == "GET":
            return web.json_response(state.setup.as_dict())
    timeline = instances.control(state, action, method, body)
    if timeline is not None:
        return web.json_response(timeline[1], status=timeline[0])
    if action == "state" and method == "GET":
        return web.json_response(_state(state))
    return web.json_response({"error": f"no control endpoint {method} {request.path}"}, status=404)


def _set_config(state: State, body: Any) -> web.Response:
    if not isinstance(body, dict):
        return _bad("config is a JSON object")
    unknown = set(body) - set(state.config.TUNABLE)
    if unknown:
        return _bad(
            f"unknown or fixed settings: {sorted(unknown)}; tunable: {state.config.TUNABLE}"
        )
    for key, value in body.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            return _bad(f"{key} must be a non-negative number")
    for key, value in body.items():
        setattr(state.config, key, float(value))
    return web.json_response(state.config.as_dict())


def _state(state: State) -> dict[str, Any]:
    return {
        "project": state.config.project,
        "repositories": state.store(Registry).snapshot(),
        "builds": state.store(BuildStore).snapshot(),
        "services": state.store(RunStore).snapshot(),
        "secrets": state.store(SecretStore).snapshot(),
        "serviceAccounts": state.store(AccountStore).snapshot(),
        "buckets": state.store(StorageStore).snapshot(),
        "operations": [
            {"name": op.name, "done": op.done, "error": list(op.error) if op.error else None}
            for op in state.operations.all()
        ],
        "faults": state.faults.list(),
        "iam": state.setup.as_dict(),
    }
