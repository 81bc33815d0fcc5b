"""The GCE metadata server, as google-auth talks to it.

Every answer carries `Metadata-Flavor: Google` and a Content-Type: google-auth
detects the server by the former and fails on a missing latter.
"""

from __future__ import annotations

import json

from aiohttp import web

from sandbox.core.state import State

FLAVOR = {"Metadata-Flavor": "Google"}
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
PREFIX = "/computeMetadata/v1/"


def _text(body: str, status: int = 200) -> web.Response:
    return web.Response(
        text=body, status=status, headers={**FLAVOR, "Content-Type": "application/text"}
    )


def _json(body: object) -> web.Response:
    return web.Response(
        text=json.dumps(body), headers={**FLAVOR, "Content-Type": "application/json"}
    )


def is_metadata_path(path: str) -> bool:
    return path == "/" or path == "/computeMetadata" or path.startswith("/computeMetadata/")


async def handle(request: web.Request, state: State) -> web.Response:
    if request.headers.get("Metadata-Flavor") != "Google":
        return _text("Missing Metadata-Flavor:Google header.\n", status=403)
    if request.method != "GET":
        return _text("Method not allowed\n", status=405)
    path = request.path
    if path == "/":
        return _text("computeMetadata/\n")
    if not path.startswith(PREFIX):
        return _text("computeMetadata/v1/\n") if path.rstrip("/") == "/computeMetadata" else _404()
    return _serve(path[len(PREFIX) :], request, state)


def _404() -> web.Response:
    return _text("Not Found\n", status=404)


def _serve(rest: str, request: web.Request, state: State) -> web.Response:
    cfg = state.config
    if rest == "":
        return _text("instance/\nproject/\n")
    if rest in ("project", "project/"):
        return _text("numeric-project-id\nproject-id\n")
    if rest == "project/project-id":
        return _text(cfg.project)
    if rest == "project/numeric-project-id":
        return _text(cfg.project_number)
    if rest in ("instance/service-accounts", "instance/service-accounts/"):
        return _text(f"default/\n{cfg.service_account}/\n")
    prefix = "instance/service-accounts/"
    if not rest.startswith(prefix):
        return _404()
    account, _, leaf = rest[len(prefix) :].partition("/")
    if account not in ("default", cfg.service_account):
        return _404()
    if leaf == "":
        if request.query.get("recursive") == "true":
            return _json({"aliases": ["default"], "email": cfg.service_account, "scopes": SCOPES})
        return _text("aliases\nemail\nidentity\nscopes\ntoken\n")
    if leaf == "email":
        return _text(cfg.service_account)
    if leaf == "scopes":
        return _text("\n".join(SCOPES) + "\n")
    if leaf == "aliases":
        return _text("default\n")
    if leaf == "token":
        token, expires_in = state.tokens.issue_access_token()
        return _json({"access_token": token, "expires_in": expires_in, "token_type": "Bearer"})
    if leaf == "identity":
        audience = request.query.get("audience", "")
        if not audience:
            return _text("non-empty audience parameter required\n", status=400)
        full = request.query.get("format") == "full"
        return _text(state.tokens.issue_id_token(audience, full=full))
    return _404()
