"""The aiohttp application: one port for the metadata server, the Google APIs,
the deployed model servers and the /_sandbox/ control API."""

from __future__ import annotations

import asyncio
import json
import sys
import traceback
from typing import Any

from aiohttp import web
from google.protobuf.message import Message

from sandbox.artifact_registry import api as artifact_registry
from sandbox.cloud_build import api as cloud_build
from sandbox.cloud_logging import api as cloud_logging
from sandbox.cloud_monitoring import api as cloud_monitoring
from sandbox.cloud_run import api as cloud_run
from sandbox.cloud_run import frontend as run_frontend
from sandbox.cloud_run.instances import RunInstances
from sandbox.cloud_run.store import RunStore
from sandbox.core import errors, faults, operations_api
from sandbox.core.config import Config
from sandbox.core.errors import ApiError
from sandbox.core.routing import ApiCall, Route, check_scope, find_route, normalize_project
from sandbox.core.state import State
from sandbox.core.validation import to_json
from sandbox.gke import clusters as gke_clusters
from sandbox.iam import account_policy, service_accounts
from sandbox.kube import gateway_proxy
from sandbox.kube.control_plane import ControlPlanes
from sandbox.metadata import server as metadata
from sandbox.project_apis import api as project_apis
from sandbox.secret_manager import api as secret_manager
from sandbox.server import control
from sandbox.storage import api as storage

JSON = "application/json; charset=UTF-8"


def all_routes() -> list[Route]:
    routes = [
        *artifact_registry.routes(),
        *cloud_build.routes(),
        *cloud_run.routes(),
        *gke_clusters.routes(),
        *operations_api.routes(),
        *secret_manager.routes(),
        *service_accounts.routes(),
        *account_policy.routes(),
        *project_apis.routes(),
        *cloud_logging.routes(),
        *cloud_monitoring.routes(),
    ]
    # Rules with a custom verb (":cancel") go first so that an id never swallows one.
    return sorted(routes, key=lambda r: ":" not in r.template.rsplit("}", 1)[-1])


def new_state(config: Config) -> State:
    """The sandbox's memory: what every API shares, and each API's store (emptied by
    /_sandbox/reset in this order)."""
    state = State(config)
    for store in (
        artifact_registry.Registry(),
        cloud_build.BuildStore(),
        RunStore(),
        RunInstances(state.clock),
        secret_manager.SecretStore(),
        service_accounts.AccountStore(),
        account_policy.AccountPolicies(),
        storage.StorageStore(),
        gke_clusters.ContainerStore(),
        ControlPlanes(state),
    ):
        state.add(store)
    return state


def build_app(config: Config | None = None) -> web.Application:
    app = web.Application(client_max_size=64 * 2**20)
    app["state"] = new_state(config or Config())
    app["routes"] = all_routes()
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app


async def dispatch(request: web.Request) -> web.StreamResponse:
    try:
        return await _dispatch(request)
    except ConnectionResetError:
        # The client went away mid-response (a playground's Stop): normal, so one line,
        # and a stand-in response aiohttp fails to send quietly, instead of the handler's
        # error that aiohttp would log with a traceback.
        print(f"client went away: {request.method} {request.path}", file=sys.stderr, flush=True)
        return web.Response(status=499)
    except asyncio.CancelledError:
        raise
    except Exception:
        # A sandbox bug must look like a Google 500, and say where it came from.
        traceback.print_exc()
        return _error(ApiError("INTERNAL", "Internal error in the sandbox (see its stderr)."))


async def _dispatch(request: web.Request) -> web.StreamResponse:
    state: State = request.app["state"]
    state.advance()
    path = request.path
    gateway = gateway_proxy.find(state, request.host)
    if gateway is not None:  # a request to a GKE Gateway's address, the sandbox as its VPC
        body = await request.read()
        entry = state.log.start(request, body, "model")
        request["log_entry"] = entry  # the endpoint picker records its classification there
        response = await gateway_proxy.handle(request, state, *gateway, body)
        entry["status"] = response.status
        return response
    if metadata.is_metadata_path(path):
        return await metadata.handle(request, state)
    if path.startswith("/_sandbox/"):
        return await control.handle(request, state)
    body = await request.read()
    # Held before Google sees it: the request is logged and acted on only after the wait.
    await _delay(state, "delay_before", request)
    response = await _handle(request, state, body)
    # Held after Google acted on it: the caller may give up on work that was done.
    await _delay(state, "delay_after", request)
    return response


async def _delay(state: State, kind: str, request: web.Request) -> None:
    fault = state.faults.take(kind, request.method, request.path)
    if fault is not None:
        await asyncio.sleep(fault.seconds)


async def _handle(request: web.Request, state: State, body: bytes) -> web.StreamResponse:
    state.advance()  # time passed while the request was held
    path = request.path
    if path.startswith("/_run/"):
        entry = state.log.start(request, body, "model")
        request["log_entry"] = entry  # streams record there whether the client stayed
        fault = state.faults.take("error", request.method, path)
        response: web.StreamResponse
        if fault is not None:
            entry["fault"] = fault.describe()
            err = faults.error_for(
                fault, path, "run.routes.invoke", "run.googleapis.com", state.config.project_number
            )
            response = _error(err)
        else:
            response = await run_frontend.handle(request, state, body)
        entry["status"] = response.status
        return response
    entry = state.log.start(request, body, "api")
    if path.startswith(("/storage/v1/", "/upload/storage/v1/")):
        response = _storage(request, state, body, entry)
        entry["status"] = response.status
        return response
    response = _api(request, state, body, entry)
    entry["status"] = response.status
    return response


def _api(request: web.Request, state: State, body: bytes, entry: dict[str, Any]) -> web.Response:
    method, path = request.method, request.path
    try:
        _authenticate(request, state)
        raw_path = request.raw_path.split("?", 1)[0]
        found = find_route(request.app["routes"], method, raw_path)
        fault = state.faults.take("error", method, path)
        if fault is not None:
            entry["fault"] = fault.describe()
            route = found[0] if found else None
            resource = path.split("/", 2)[-1]
            call = _call(request, state, body, entry, found) if found else None
            raise faults.error_for(
                fault,
                call.resource() if call else resource,
                route.permission if route else "unknown",
                route.service if route else "googleapis.com",
                state.config.project_number,
            )
        if found is None:
            raise errors.not_found(f"The requested URL {path} was not found on this server.")
        call = _call(request, state, body, entry, found)
        check_scope(call)
        call.query  # noqa: B018 - binds and validates the query parameters before acting
        result = found[0].handler(call)
        return _ok(result, call.int_enums)
    except ApiError as exc:
        return _error(exc)


def _storage(
    request: web.Request, state: State, body: bytes, entry: dict[str, Any]
) -> web.Response:
    """Cloud Storage's JSON API has its own resource shapes (sandbox/storage/api.py)."""
    try:
        _authenticate(request, state)
        fault = state.faults.take("error", request.method, request.path)
        if fault is not None:
            entry["fault"] = fault.describe()
            raise faults.error_for(
                fault,
                request.path,
                f"storage.buckets.{request.method.lower()}",
                "storage.googleapis.com",
                state.config.project_number,
            )
    except ApiError as exc:
        return storage.error_response(exc)
    return storage.handle(request, state, body)


def _call(
    request: web.Request,
    state: State,
    body: bytes,
    entry: dict[str, Any],
    found: tuple[Route, dict[str, str]],
) -> ApiCall:
    route, fields = found
    cfg = state.config
    fields = {k: normalize_project(v, cfg.project, cfg.project_number) for k, v in fields.items()}
    if fields.get("project_id") == cfg.project_number:
        fields["project_id"] = cfg.project
    return ApiCall(
        state=state,
        route=route,
        fields=fields,
        query_items=list(request.query.items()),
        body_text=body.decode("utf-8", "replace"),
        int_enums="enum-encoding=int" in request.query.get("$alt", ""),
        method=request.method,
        path=request.path,
        log_entry=entry,
    )


def _authenticate(request: web.Request, state: State) -> None:
    header = request.headers.get("Authorization")
    if not header:
        raise errors.unauthenticated(missing=True)
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not state.tokens.access_token_valid(token.strip()):
        raise errors.unauthenticated(missing=False)


def _ok(result: Message, int_enums: bool) -> web.Response:
    return web.Response(
        text=json.dumps(to_json(result, int_enums)),
        content_type="application/json",
        charset="utf-8",
    )


def _error(exc: ApiError) -> web.Response:
    return web.Response(
        text=json.dumps(exc.body()),
        status=exc.http_status,
        content_type="application/json",
        charset="utf-8",
    )
