"""Watch: `GET ...?watch=true` streams the changes of a collection
(https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes).

One `WatchEvent` JSON object per line (`{"type": "ADDED"|"MODIFIED"|"DELETED"|"BOOKMARK",
"object": ...}`), from the resourceVersion asked for: with none (or "0") the server first
sends an ADDED event for every object that exists, then the changes; with a
resourceVersion (what a list returned) only the changes after it, and 410 Gone ("too old
resource version") once the server no longer holds that history (#410-gone-responses).
An object that stops matching the label or field selector is DELETED for that watch.
`sendInitialEvents=true` (a watch-list) ends its initial events with a BOOKMARK annotated
`k8s.io/initial-events-end`; `allowWatchBookmarks=true` gets a BOOKMARK carrying the
current resourceVersion every minute (#watch-bookmarks). The stream ends after
`timeoutSeconds`, or, without it, after the API server's own timeout (a random time
between `--min-request-timeout`, 1800 s, and twice that), and the client watches again.

The sandbox's objects also change in place (pods scheduled, statuses moving on the
timeline), so the history is a journal of what changed, recorded after every request the
API server serves and on every tick of a watch: an object whose content changed without
a new resourceVersion gets one then, as any write gives it one. The journal starts with
the first list or watch of the cluster (nothing before can be asked for).
"""

from __future__ import annotations

import asyncio
import json
import random
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.kube.store import KubeError, KubeStore

POLL_SECONDS = 0.2
BOOKMARK_SECONDS = 60.0
MIN_REQUEST_TIMEOUT = 1800.0
HISTORY = 5000  # entries kept; an older resourceVersion is 410 Gone
Key = tuple[str, str, str, str]


@dataclass
class Journal:
    # What each object looked like when last recorded (its JSON, and a cheap fingerprint
    # that changes whenever it does), and the entries: (resourceVersion, event type, key,
    # the object then).
    last: dict[Key, str] = field(default_factory=dict)
    prints: dict[Key, tuple[Any, ...]] = field(default_factory=dict)
    entries: list[tuple[int, str, Key, dict[str, Any]]] = field(default_factory=list)
    dropped_before: int = 0  # the resourceVersion of the oldest entry let go
    offset: int = 0  # how many entries were let go (positions are counted from the first)


_JOURNALS: weakref.WeakKeyDictionary[KubeStore, Journal] = weakref.WeakKeyDictionary()


def start_journal(store: KubeStore) -> None:
    """Keep the cluster's history from now on (a list or watch asks for it)."""
    if store not in _JOURNALS:
        journal = Journal(dropped_before=int(store.current_version()))
        _JOURNALS[store] = journal
        journal.last = {k: json.dumps(s.obj, sort_keys=True) for k, s in store.objects.items()}
        journal.prints = {k: _fingerprint(s.obj) for k, s in store.objects.items()}


def _fingerprint(obj: dict[str, Any]) -> tuple[Any, ...]:
    """Changes when the object does: a write replaces it or gives it a resourceVersion;
    the cluster's own updates replace its status or change it in place (compared whole),
    or replace its spec or metadata."""
    meta = obj.get("metadata") or {}
    status = json.dumps(obj.get("status"), sort_keys=True)
    return (id(obj), meta.get("resourceVersion"), id(obj.get("spec")), id(meta), status)


def record(store: KubeStore) -> None:
    """Append what changed since the last record (no-op before a list or watch)."""
    journal = _JOURNALS.get(store)
    if journal is None:
        return
    current: dict[Key, str] = {}
    prints: dict[Key, tuple[Any, ...]] = {}
    for key, stored in list(store.objects.items()):
        prints[key] = _fingerprint(stored.obj)
        before = journal.last.get(key)
        if before is not None and journal.prints.get(key) == prints[key]:
            current[key] = before
            continue
        text = json.dumps(stored.obj, sort_keys=True)
        if before != text:
            meta = stored.obj["metadata"]
            if before is not None and json.loads(before)["metadata"].get(
                "resourceVersion"
            ) == meta.get("resourceVersion"):
                meta["resourceVersion"] = store.fresh_version()
                text = json.dumps(stored.obj, sort_keys=True)
            event = "ADDED" if before is None else "MODIFIED"
            version = int(meta.get("resourceVersion") or store.fresh_version())
            journal.entries.append((version, event, key, json.loads(text)))
            prints[key] = _fingerprint(stored.obj)
        current[key] = text
    for key in [k for k in journal.last if k not in current]:
        gone = json.loads(journal.last[key])
        gone["metadata"]["resourceVersion"] = store.fresh_version()
        journal.entries.append((int(gone["metadata"]["resourceVersion"]), "DELETED", key, gone))
    journal.last, journal.prints = current, prints
    if len(journal.entries) > HISTORY:
        cut = len(journal.entries) - HISTORY
        journal.dropped_before = journal.entries[cut - 1][0]
        journal.offset += cut
        del journal.entries[:cut]


def wanted(request: web.Request) -> bool:
    return request.query.get("watch", "") in ("true", "1")


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise KubeError(400, "BadRequest", f'invalid value for {name}: "{value}"') from None


def _check_watch_list(query: Any) -> None:
    """sendInitialEvents needs resourceVersionMatch=NotOlderThan and allowWatchBookmarks,
    and resourceVersionMatch on a watch needs sendInitialEvents
    (https://kubernetes.io/docs/reference/kubernetes-api/common-parameters/common-parameters/#sendInitialEvents;
    validateWatchOptions in k8s.io/apimachinery/pkg/apis/meta/internalversion/validation)."""
    match = query.get("resourceVersionMatch", "")
    causes = []
    if "sendInitialEvents" in query:
        if match != "NotOlderThan":
            causes.append(
                "resourceVersionMatch: Forbidden: sendInitialEvents requires setting "
                "resourceVersionMatch to NotOlderThan"
            )
        if query.get("allowWatchBookmarks", "") not in ("true", "1"):
            causes.append(
                "allowWatchBookmarks: Forbidden: allowWatchBookmarks required when using "
                "sendInitialEvents"
            )
    elif match:
        causes.append(
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch "
            "unless sendInitialEvents is provided"
        )
    if causes:
        raise KubeError(
            422, "Invalid", f'ListOptions.meta.k8s.io "" is invalid: {", ".join(causes)}'
        )


def _encode(kind: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"type": kind, "object": obj}).encode() + b"\n"


async def stream(
    request: web.Request,
    store: KubeStore,
    head: dict[str, str],
    kind_key: tuple[str, str],
    matches: Callable[[dict[str, Any]], bool],
    render: Callable[[dict[str, Any]], dict[str, Any]],
    tick: Callable[[], None],
) -> web.StreamResponse:
    """Serve the watch of the objects of `kind_key` (group, plural) that `matches` takes.
    `head` is the kind and apiVersion a BOOKMARK names, `render` what an event carries
    for an object (itself, or a one-row Table), `tick` moves the cluster on."""
    query = request.query
    since = query.get("resourceVersion", "")
    _check_watch_list(query)
    initial = query.get("sendInitialEvents", "") == "true"
    bookmarks = query.get("allowWatchBookmarks", "") in ("true", "1")
    timeout = (
        _int(query["timeoutSeconds"], "timeoutSeconds")
        if "timeoutSeconds" in query
        else MIN_REQUEST_TIMEOUT * (1 + random.random())  # noqa: S311
    )
    from_version = _int(since, "resourceVersion") if since not in ("", "0") else 0
    start_journal(store)
    tick()
    record(store)
    journal = _JOURNALS[store]
    if from_version and not initial and from_version < journal.dropped_before:
        raise KubeError(
            410, "Expired", f"too old resource version: {from_version} ({journal.dropped_before})"
        )

    def ours(key: Key) -> bool:
        return key[:2] == kind_key

    response = web.StreamResponse(
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    )
    await response.prepare(request)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    next_bookmark = loop.time() + BOOKMARK_SECONDS
    visible = {k for k, s in store.objects.items() if ours(k) and matches(s.obj)}
    out: list[bytes] = []
    if not from_version or initial:
        out += [_encode("ADDED", render(store.objects[k].obj)) for k in sorted(visible)]
        position = journal.offset + len(journal.entries)
    else:
        position = journal.offset + next(
            (i for i, e in enumerate(journal.entries) if e[0] > from_version),
            len(journal.entries),
        )
    if initial:
        out.append(_bookmark(store, head, initial_end=True))
    try:
        while True:
            for _, event, key, obj in journal.entries[max(0, position - journal.offset) :]:
                if not ours(key):
                    continue
                if event == "DELETED":
                    if key in visible or matches(obj):
                        visible.discard(key)
                        out.append(_encode("DELETED", render(obj)))
                elif matches(obj):
                    seen = key in visible and event != "ADDED"
                    visible.add(key)
                    out.append(_encode("MODIFIED" if seen else "ADDED", render(obj)))
                elif key in visible:  # no longer selected: gone for this watch
                    visible.discard(key)
                    out.append(_encode("DELETED", render(obj)))
            position = journal.offset + len(journal.entries)
            if bookmarks and loop.time() >= next_bookmark:
                out.append(_bookmark(store, head))
                next_bookmark = loop.time() + BOOKMARK_SECONDS
            if out:
                await response.write(b"".join(out))
                out = []
            transport = request.transport
            if loop.time() >= deadline or transport is None or transport.is_closing():
                break
            await asyncio.sleep(POLL_SECONDS)
            tick()
            record(store)
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client stopped watching
    return response


def _bookmark(store: KubeStore, head: dict[str, str], *, initial_end: bool = False) -> bytes:
    meta: dict[str, Any] = {"resourceVersion": store.current_version()}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return _encode("BOOKMARK", {**head, "metadata": meta})
