"""Cloud Run's front end for a deployed service: /_run/PROJECT/LOCATION/SERVICE/...

A ready service's `uri` points here. The front end is real enough to test against: it
wants an ID token the sandbox issued for exactly the service URL or one of its custom
audiences (https://cloud.google.com/run/docs/configuring/custom-audiences), and the caller
must hold an invoker role unless the invoker check is off
(https://cloud.google.com/run/docs/securing/managing-access#invoker_check); it answers
with Google's HTML error pages otherwise. A request keeps an instance busy (billed) until its
reply is sent (instances.py), waits for the model to load on a cold start, and is then
served by the model server the revision runs (sandbox/model_servers/).
"""

from __future__ import annotations

import asyncio
import re

from aiohttp import web

from sandbox.cloud_run import store as run_store
from sandbox.cloud_run.instances import RunInstances
from sandbox.core.auth import InvalidIdToken
from sandbox.core.state import State
from sandbox.iam import policies
from sandbox.model_servers import ollama_server, vllm_server

PATH = re.compile(r"/_run/(?P<project>[^/]+)/(?P<location>[^/]+)/(?P<service>[^/]+)(?P<rest>/.*)?")

UNAUTHORIZED = (
    "<html><head><title>401 Unauthorized</title></head><body><h1>Error: Unauthorized</h1>"
    "<h2>Your client does not have permission to the requested URL <code>{path}</code>.</h2>"
    "</body></html>"
)
FORBIDDEN = (
    "<html><head><title>403 Forbidden</title></head><body><h1>Error: Forbidden</h1>"
    "<h2>Your client does not have permission to get URL <code>{path}</code> from this "
    "server.</h2></body></html>"
)
NOT_FOUND_PAGE = (
    "<html><head><title>404 Page not found</title></head><body><h1>Error: Page not found</h1>"
    "<h2>The requested URL was not found on this server.</h2></body></html>"
)


def _html(
    template: str, status: int, path: str = "", headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        text=template.format(path=path), status=status, content_type="text/html", headers=headers
    )


async def handle(request: web.Request, state: State, body: bytes) -> web.StreamResponse:
    m = PATH.fullmatch(request.path)
    if not m:
        return _html(NOT_FOUND_PAGE, 404)
    stored = run_store.serving(state, m["project"], m["location"], m["service"])
    if stored is None:
        return _html(NOT_FOUND_PAGE, 404)
    rest = m["rest"] or "/"
    denied = _authorize(request, stored, rest)
    if denied is not None:
        return denied
    # The request keeps an instance busy (billed) until its reply has been sent.
    span = state.store(RunInstances).started(stored.pb.name)
    try:
        return await _serve(request, state, stored, rest, body)
    finally:
        state.store(RunInstances).ended(span)


async def _serve(
    request: web.Request, state: State, stored: run_store.StoredService, rest: str, body: bytes
) -> web.StreamResponse:
    wait = run_store.warm_wait(stored, state.config.model_load_delay)
    if wait:
        await asyncio.sleep(wait)
    model = stored.serving.model if stored.serving else None
    if stored.serving is not None and stored.serving.server == "vllm":
        stored.metrics = stored.metrics or vllm_server.Metrics()
        vllm = vllm_server.VllmServer(
            model or "", stored.serving.max_model_len, state.config.token_delay, stored.metrics
        )
        return await vllm.dispatch(request, rest, body)
    server = ollama_server.OllamaServer(
        ollama_server.normalize(model) if model else None, state.config.token_delay, wait
    )
    return await server.dispatch(request, rest, body)


def _authorize(
    request: web.Request, stored: run_store.StoredService, path: str
) -> web.Response | None:
    svc = stored.pb
    if svc.invoker_iam_disabled:
        return None
    header = request.headers.get("Authorization", "")
    challenge = {
        "WWW-Authenticate": 'Bearer error="invalid_token" '
        'error_description="The access token could not be verified"'
    }
    if not header.startswith("Bearer "):
        return _html(UNAUTHORIZED, 401, path, {"WWW-Authenticate": "Bearer"})
    token = header[len("Bearer ") :].strip()
    audiences = [svc.uri, *svc.custom_audiences]
    claims = None
    for audience in audiences:
        try:
            claims = request.app["state"].tokens.verify_id_token(token, audience)
            break
        except InvalidIdToken:
            continue
    if claims is None:
        return _html(UNAUTHORIZED, 401, path, challenge)
    if not policies.allows_invoke(stored.policy, claims.email):
        return _html(FORBIDDEN, 403, path)
    return None
