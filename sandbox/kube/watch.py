"""Watch: `GET ...?watch=true` streams the changes of a collection
(https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes).

One `WatchEvent` JSON object per line (`{"type": "ADDED"|"MODIFIED"|"DELETED"|"BOOKMARK",
"object": ...}`), from the resourceVersion asked for: with none (or "0") the server first
sends an ADDED event for every object that exists, then the changes; with a
resourceVersion (what a list returned) only the changes after it. An object that stops
matching the label or field selector is DELETED for that watch. `sendInitialEvents=true`
(a watch-list) ends its initial events with a BOOKMARK annotated
`k8s.io/initial-events-end`; `allowWatchBookmarks=true` gets a BOOKMARK carrying the
current resourceVersion every minute (#watch-bookmarks). The stream ends after
`timeoutSeconds`, or, without it, after the API server's own timeout (a random time
between `--min-request-timeout`, 1800 s, and twice that), and the client watches again.

The sandbox's objects change in place (pods scheduled, statuses moving on the timeline),
so the watch polls the store: an object whose content changed without a new
resourceVersion gets one then, as any write gives it one.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandbox.kube.store import KubeError, KubeStore

POLL_SECONDS = 0.2
BOOKMARK_SECONDS = 60.0
MIN_REQUEST_TIMEOUT = 1800.0
Key = tuple[str, str, str, str]


def wanted(request: web.Request) -> bool:
    return request.query.get("watch", "") in ("true", "1")


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise KubeError(400, "BadRequest", f'invalid value for {name}: "{value}"') from None


def _encode(kind: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"type": kind, "object": obj}).encode() + b"\n"


async def stream(
    request: web.Request,
    store: KubeStore,
    head: dict[str, str],
    snapshot: Callable[[], dict[Key, dict[str, Any]]],
    render: Callable[[dict[str, Any]], dict[str, Any]],
    tick: Callable[[], None],
) -> web.StreamResponse:
    """Serve the watch. `head` is the kind and apiVersion a BOOKMARK names, `snapshot`
    gives the matching objects by key now, `render` what an
    event carries for an object (itself, or a one-row Table), `tick` moves the cluster on."""
    query = request.query
    since = query.get("resourceVersion", "")
    initial = query.get("sendInitialEvents", "") == "true"
    bookmarks = query.get("allowWatchBookmarks", "") in ("true", "1")
    timeout = (
        _int(query["timeoutSeconds"], "timeoutSeconds")
        if "timeoutSeconds" in query
        else MIN_REQUEST_TIMEOUT * (1 + random.random())  # noqa: S311
    )
    from_version = _int(since, "resourceVersion") if since not in ("", "0") else 0
    response = web.StreamResponse(
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    )
    await response.prepare(request)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen: dict[Key, str] = {}
    last: dict[Key, dict[str, Any]] = {}
    first = True
    next_bookmark = loop.time() + BOOKMARK_SECONDS
    try:
        while True:
            tick()
            current = snapshot()
            out: list[bytes] = []
            for key, obj in current.items():
                text = json.dumps(obj, sort_keys=True)
                if seen.get(key) == text:
                    continue
                if key in seen and last[key]["metadata"].get("resourceVersion") == obj[
                    "metadata"
                ].get("resourceVersion"):
                    obj["metadata"]["resourceVersion"] = store.fresh_version()
                    text = json.dumps(obj, sort_keys=True)
                version = int(obj["metadata"].get("resourceVersion") or 0)
                if key not in seen and (not first or initial or not from_version):
                    out.append(_encode("ADDED", render(obj)))
                elif not first or version > from_version:
                    out.append(_encode("MODIFIED", render(obj)))
                seen[key], last[key] = text, obj
            for key in [k for k in seen if k not in current]:
                gone = json.loads(json.dumps(last.pop(key)))
                gone["metadata"]["resourceVersion"] = store.fresh_version()
                del seen[key]
                out.append(_encode("DELETED", render(gone)))
            if first and initial:
                out.append(_bookmark(store, head, initial_end=True))
            first = False
            if bookmarks and loop.time() >= next_bookmark:
                out.append(_bookmark(store, head))
                next_bookmark = loop.time() + BOOKMARK_SECONDS
            if out:
                await response.write(b"".join(out))
            transport = request.transport
            if loop.time() >= deadline or transport is None or transport.is_closing():
                break
            await asyncio.sleep(POLL_SECONDS)
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client stopped watching
    return response


def _bookmark(store: KubeStore, head: dict[str, str], *, initial_end: bool = False) -> bytes:
    meta: dict[str, Any] = {"resourceVersion": store.current_version()}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return _encode("BOOKMARK", {**head, "metadata": meta})
