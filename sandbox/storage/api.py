"""Cloud Storage JSON API: buckets, objects, media uploads and bucket IAM (uniform access).

Unlike the gRPC-transcoded APIs, Storage speaks its own JSON resources, so bodies are
checked against the JSON API's field names here rather than parsed into protos.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import re
import secrets
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.core import errors
from sandbox.core.errors import ApiError
from sandbox.core.validation import MULTI_REGIONS, REGIONS, labels_ok
from sandbox.iam import act_as

BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]")
BUCKET_FIELDS = frozenset(
    {
        "name",
        "location",
        "locationType",
        "labels",
        "iamConfiguration",
        "storageClass",
        "versioning",
        "lifecycle",
        "softDeletePolicy",
        "hierarchicalNamespace",
        "autoclass",
    }
)
QUERY = frozenset(
    {
        "project",
        "prettyPrint",
        "alt",
        "fields",
        "projection",
        "predefinedAcl",
        "predefinedDefaultObjectAcl",
        "userProject",
        "enableObjectRetention",
        "optionsRequestedPolicyVersion",
        "prefix",
        "delimiter",
        "maxResults",
        "pageToken",
        "versions",
        "includeTrailingDelimiter",
        "matchGlob",
        "softDeleted",
        "generation",
        "ifGenerationMatch",
        "ifGenerationNotMatch",
        "ifMetagenerationMatch",
        "ifMetagenerationNotMatch",
        "uploadType",
        "name",
        "includeFoldersAsPrefixes",
    }
)
ROLE = re.compile(r"roles/storage\.[A-Za-z]+")
MEMBER = re.compile(
    r"allUsers|allAuthenticatedUsers|(user|serviceAccount|group):[^@\s]+@[^@\s]+"
    r"|domain:[a-z0-9.-]+|(projectOwner|projectEditor|projectViewer):[a-z0-9][-a-z0-9]*"
)
# Roles that carry storage.objects.get (what a read-only FUSE mount needs).
READER_ROLES = frozenset(
    {
        "roles/storage.objectViewer",
        "roles/storage.objectUser",
        "roles/storage.objectAdmin",
        "roles/storage.admin",
        "roles/storage.legacyObjectReader",
        "roles/storage.legacyObjectOwner",
    }
)


# Roles that carry storage.objects.create and .list (what `gcloud storage rsync` needs).
WRITER_ROLES = frozenset(
    {"roles/storage.objectUser", "roles/storage.objectAdmin", "roles/storage.admin"}
)


@dataclass
class StoredObject:
    data: bytes
    generation: int
    updated: str


@dataclass
class StoredBucket:
    resource: dict[str, Any]
    policy: dict[str, Any]
    objects: dict[str, StoredObject] = field(default_factory=dict)


class StorageStore:
    def __init__(self) -> None:
        self.buckets: dict[str, StoredBucket] = {}

    def clear(self) -> None:
        self.buckets.clear()

    def can_read(self, bucket: str, email: str) -> bool:
        stored = self.buckets.get(bucket)
        if stored is None:
            return False
        member = f"serviceAccount:{email}"
        return any(
            b["role"] in READER_ROLES and member in b["members"] for b in stored.policy["bindings"]
        )

    def can_write(self, bucket: str, email: str) -> bool:
        """Whether `email` may create objects in the bucket (what an upload needs)."""
        stored = self.buckets.get(bucket)
        if stored is None:
            return False
        member = f"serviceAccount:{email}"
        return any(
            b["role"] in WRITER_ROLES and member in b["members"] for b in stored.policy["bindings"]
        )

    def put(self, bucket: str, name: str, data: bytes) -> None:
        stored = self.buckets[bucket]
        generation = int(datetime.datetime.now(datetime.UTC).timestamp() * 1e6)
        stored.objects[name] = StoredObject(data, generation, _now())

    def snapshot(self) -> list[dict[str, object]]:
        return [
            {**b.resource, "iamPolicy": b.policy, "objects": sorted(b.objects)}
            for b in self.buckets.values()
        ]


def _now() -> str:
    return (
        datetime.datetime.now(datetime.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _json(data: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(data), status=status, content_type="application/json", charset="utf-8"
    )


def _storage_error(status: int, reason: str, message: str) -> ApiError:
    names = {
        400: "INVALID_ARGUMENT",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        409: "ABORTED",
        412: "FAILED_PRECONDITION",
    }
    err = ApiError(names[status], message)
    err.details = [{"message": message, "domain": "global", "reason": reason}]
    return err


# The JSON API names what went wrong in errors[].reason, not in a google.rpc.ErrorInfo
# (https://cloud.google.com/storage/docs/json_api/v1/status-codes).
_JSON_API_REASONS = {
    "RATE_LIMIT_EXCEEDED": ("usageLimits", "rateLimitExceeded"),
    "RESOURCE_QUOTA_EXCEEDED": ("usageLimits", "quotaExceeded"),
    "IAM_PERMISSION_DENIED": ("global", "forbidden"),
}


def _json_api_errors(exc: ApiError) -> list[dict[str, Any]]:
    out = []
    for detail in exc.details:
        if "@type" not in detail:
            out.append(detail)
            continue
        domain, reason = _JSON_API_REASONS.get(detail.get("reason", ""), ("global", "backendError"))
        out.append({"message": exc.message, "domain": domain, "reason": reason})
    return out


def error_response(exc: ApiError) -> web.Response:
    # The JSON API's shape: {"error": {"code", "message", "errors": [...]}}.
    body = {
        "error": {"code": exc.http_status, "message": exc.message, "errors": _json_api_errors(exc)}
    }
    status = 412 if exc.status == "FAILED_PRECONDITION" else exc.http_status
    if exc.status == "ABORTED":
        status = 409
    body["error"]["code"] = status
    return _json(body, status)


def _bucket(state: Any, name: str) -> StoredBucket:
    stored = state.store(StorageStore).buckets.get(name)
    if stored is None:
        raise _storage_error(404, "notFound", "The specified bucket does not exist.")
    return stored


def _object_resource(bucket: str, name: str, obj: StoredObject) -> dict[str, Any]:
    md5 = base64.b64encode(hashlib.md5(obj.data, usedforsecurity=False).digest()).decode()
    return {
        "kind": "storage#object",
        "id": f"{bucket}/{name}/{obj.generation}",
        "name": name,
        "bucket": bucket,
        "generation": str(obj.generation),
        "metageneration": "1",
        "size": str(len(obj.data)),
        "md5Hash": md5,
        "updated": obj.updated,
        "timeCreated": obj.updated,
        "storageClass": "STANDARD",
    }


def _check_project(state: Any, query: dict[str, str], permission: str) -> None:
    """buckets.insert and buckets.list name their project in `project`, which they require
    ("Required parameter: project", 400: https://cloud.google.com/storage/docs/json_api/v1/buckets/list#parameters,
    https://github.com/googleapis/google-api-go-client/issues/110); any other project than
    the sandbox's is denied."""
    project = query.get("project")
    if not project:
        raise _storage_error(400, "required", "Required parameter: project")
    cfg = state.config
    if project not in (cfg.project, cfg.project_number):
        raise errors.permission_denied(permission, f"projects/{project}", "storage")


def _create_bucket(state: Any, query: dict[str, str], body: dict[str, Any]) -> web.Response:
    _check_project(state, query, "storage.buckets.create")
    cfg = state.config
    unknown = set(body) - BUCKET_FIELDS
    if unknown:
        raise _storage_error(400, "invalid", f"Unknown field(s) in the bucket: {sorted(unknown)}.")
    name = body.get("name", "")
    if not isinstance(name, str) or not BUCKET_NAME.fullmatch(name) or ".." in name:
        raise _storage_error(400, "invalid", "Invalid bucket name: '" + str(name) + "'")
    location = str(body.get("location", "US")).lower()
    if location not in REGIONS | MULTI_REGIONS:
        raise _storage_error(400, "invalid", "The specified location constraint is not valid.")
    labels_ok(body.get("labels") or {}, "labels")
    if name in state.store(StorageStore).buckets:
        raise _storage_error(
            409,
            "conflict",
            "Your previous request to create the named bucket succeeded and you already own it.",
        )
    stamp = _now()
    ubla = bool(body.get("iamConfiguration", {}).get("uniformBucketLevelAccess", {}).get("enabled"))
    resource = {
        "kind": "storage#bucket",
        "id": name,
        "name": name,
        "projectNumber": cfg.project_number,
        "metageneration": "1",
        "location": location.upper(),
        "locationType": "multi-region" if location in MULTI_REGIONS else "region",
        "storageClass": body.get("storageClass", "STANDARD"),
        "labels": body.get("labels") or {},
        "iamConfiguration": {
            "uniformBucketLevelAccess": {"enabled": ubla},
            "publicAccessPrevention": "inherited",
        },
        "timeCreated": stamp,
        "updated": stamp,
        "etag": "CAE=",
    }
    project = cfg.project_number
    policy = {
        "kind": "storage#policy",
        "resourceId": f"projects/_/buckets/{name}",
        "version": 1,
        "etag": "CAE=",
        "bindings": [
            {
                "role": "roles/storage.legacyBucketOwner",
                "members": [f"projectEditor:{project}", f"projectOwner:{project}"],
            },
            {"role": "roles/storage.legacyBucketReader", "members": [f"projectViewer:{project}"]},
        ],
    }
    state.store(StorageStore).buckets[name] = StoredBucket(resource, policy)
    return _json(resource)


def _conditional(bindings: list[dict[str, Any]]) -> bool:
    return any("condition" in binding for binding in bindings)


def _get_policy(stored: StoredBucket, query: dict[str, str]) -> web.Response:
    requested = _int(
        query.get("optionsRequestedPolicyVersion", "1"), "optionsRequestedPolicyVersion"
    )
    # https://cloud.google.com/storage/docs/json_api/v1/buckets/getIamPolicy: a version that
    # cannot hold the policy fails the request; 3 is required for buckets with conditions.
    if _conditional(stored.policy["bindings"]) and requested < 3:
        raise _storage_error(
            400,
            "invalid",
            "The bucket's IAM policy has conditions; request it with "
            "optionsRequestedPolicyVersion=3.",
        )
    return _json(stored.policy)


def _set_policy(stored: StoredBucket, body: dict[str, Any]) -> web.Response:
    unknown = set(body) - {"kind", "resourceId", "version", "etag", "bindings"}
    if unknown:
        raise _storage_error(400, "invalid", f"Unknown field(s) in the policy: {sorted(unknown)}.")
    if body.get("etag") and body["etag"] != stored.policy["etag"]:
        raise _storage_error(412, "conditionNotMet", "Precondition Failed")
    bindings = body.get("bindings") or []
    for binding in bindings:
        _check_binding(binding)
    version = _int(body.get("version") or 1, "version")
    # As for every IAM policy (https://cloud.google.com/iam/docs/policies#versions): with
    # version 1, conditional role bindings are refused, and so is replacing a conditional
    # policy under its etag; only a write without the etag may drop the conditions.
    replaces_conditions = bool(body.get("etag")) and _conditional(stored.policy["bindings"])
    if version < 3 and (_conditional(bindings) or replaces_conditions):
        raise _storage_error(
            400, "invalid", "IAM policy version 3 is required for conditional role bindings."
        )
    if _conditional(bindings) and not _uniform(stored):
        # Conditions are "available for buckets that use uniform bucket-level access"
        # (https://cloud.google.com/iam/help/conditions/resource-policies).
        raise _storage_error(
            400,
            "invalid",
            "IAM conditions can only be used on buckets with uniform bucket-level access.",
        )
    etag = base64.b64encode(secrets.token_bytes(3)).decode()
    # Google answers with the lowest version that holds the policy.
    lowest = 3 if _conditional(bindings) else 1
    stored.policy = {**stored.policy, "bindings": bindings, "etag": etag, "version": lowest}
    return _json(stored.policy)


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise _storage_error(400, "invalid", f"Invalid value for {name}: {value}") from exc


def _uniform(stored: StoredBucket) -> bool:
    ubla = stored.resource["iamConfiguration"]["uniformBucketLevelAccess"]
    return bool(ubla["enabled"])


def _check_binding(binding: dict[str, Any]) -> None:
    unknown = set(binding) - {"role", "members", "condition"}
    if unknown:
        raise _storage_error(400, "invalid", f"Unknown field(s) in a binding: {sorted(unknown)}.")
    if not ROLE.fullmatch(str(binding.get("role", ""))):
        raise _storage_error(
            400, "invalid", f"Role {binding.get('role')} is not supported for this resource."
        )
    for member in binding.get("members") or []:
        if not MEMBER.fullmatch(member):
            raise _storage_error(400, "invalid", f"Invalid argument: member {member!r}.")
    if "condition" in binding:
        condition = binding["condition"]
        # A condition's title and expression are required, and it cannot go with a
        # public principal (https://cloud.google.com/iam/docs/conditions-overview).
        if (
            not isinstance(condition, dict)
            or set(condition) - {"title", "description", "expression"}
            or not condition.get("title")
            or not condition.get("expression")
        ):
            raise _storage_error(
                400, "invalid", "A condition needs a title and an expression, and nothing else."
            )
        if {"allUsers", "allAuthenticatedUsers"}.intersection(binding.get("members") or []):
            raise _storage_error(
                400, "invalid", "Conditions cannot be used with allUsers or allAuthenticatedUsers."
            )


def _objects(stored: StoredBucket, query: dict[str, str]) -> web.Response:
    prefix = query.get("prefix", "")
    items = [
        _object_resource(stored.resource["name"], n, o)
        for n, o in sorted(stored.objects.items())
        if n.startswith(prefix)
    ]
    return _json(
        {"kind": "storage#objects", "items": items} if items else {"kind": "storage#objects"}
    )


def _upload(request: web.Request, query: dict[str, str], body: bytes) -> tuple[str, bytes]:
    """A simple (`media`, name in the query) or `multipart` upload: a multipart/related body
    of the object's JSON metadata, then its data, as gcloud sends a small file
    (https://cloud.google.com/storage/docs/uploading-objects#uploading-an-object,
    https://cloud.google.com/storage/docs/json_api/v1/how-tos/multipart-upload)."""
    kind = query.get("uploadType")
    if kind == "media" and query.get("name"):
        return _object_name(query["name"]), body
    if kind != "multipart":
        raise _storage_error(
            400, "invalid", "The sandbox takes uploadType=media&name=N or uploadType=multipart."
        )
    boundary = re.search(r"boundary=[\"']?([^\"';]+)", request.headers.get("Content-Type", ""))
    if boundary is None:
        raise _storage_error(400, "invalid", "Multipart upload needs a multipart/related body.")
    sections = body.split(b"--" + boundary.group(1).encode())
    parts = [s.split(b"\r\n\r\n", 1) if b"\r\n\r\n" in s else s.split(b"\n\n", 1) for s in sections]
    payloads = [p[1] for p in parts if len(p) == 2]
    if len(payloads) < 2:
        raise _storage_error(400, "invalid", "Multipart upload needs metadata and media parts.")
    try:
        metadata = json.loads(payloads[0])
    except ValueError as exc:
        raise _storage_error(400, "parseError", "Parse Error") from exc
    if not isinstance(metadata, dict):  # the object resource is a JSON object
        raise _storage_error(400, "invalid", "Invalid JSON payload: the metadata is no object.")
    name = query.get("name") or metadata.get("name")
    if not name:
        raise _storage_error(400, "required", "Required: object name.")
    media = payloads[1]
    ending = next((end for end in (b"\r\n", b"\n") if media.endswith(end)), b"")
    return _object_name(name), media[: len(media) - len(ending)]


def _object_name(name: Any) -> str:
    """Object names are 1-1024 bytes of UTF-8 with no carriage return or line feed, not
    `.` or `..`, nor under `.well-known/acme-challenge/`
    (https://cloud.google.com/storage/docs/naming-objects)."""
    if (
        not isinstance(name, str)
        or not 0 < len(name.encode("utf-8", "surrogatepass")) <= 1024
        or "\r" in name
        or "\n" in name
        or name in (".", "..")
        or name.startswith(".well-known/acme-challenge/")
    ):
        raise _storage_error(400, "invalid", "The specified object name is not valid.")
    return name


def _list_buckets(state: Any, query: dict[str, str]) -> web.Response:
    """buckets.list for the project, by name prefix."""
    _check_project(state, query, "storage.buckets.list")
    prefix = query.get("prefix", "")
    items = [
        b.resource
        for n, b in sorted(state.store(StorageStore).buckets.items())
        if n.startswith(prefix)
    ]
    return _json(
        {"kind": "storage#buckets", "items": items} if items else {"kind": "storage#buckets"}
    )


def _route(request: web.Request, state: Any, body: bytes) -> web.Response:
    query = dict(request.query)
    unknown = set(query) - QUERY
    if unknown:
        raise _storage_error(400, "invalid", f"Invalid query parameter(s): {sorted(unknown)}.")
    path, method = request.raw_path.split("?", 1)[0], request.method
    parts = [urllib.parse.unquote(p) for p in path.split("/")[1:]]
    if parts[:3] == ["upload", "storage", "v1"] and method == "POST" and len(parts) == 6:
        name, content = _upload(request, query, body)
        stored = _bucket(state, parts[4])
        state.store(StorageStore).put(parts[4], name, content)
        return _json(_object_resource(parts[4], name, stored.objects[name]))
    if parts[:2] != ["storage", "v1"] or len(parts) < 3 or parts[2] != "b":
        raise errors.not_found(f"The requested URL {path} was not found on this server.")
    data: dict[str, Any] = {}
    if body.strip():
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise _storage_error(400, "parseError", "Parse Error") from exc
    rest = parts[3:]
    if not rest:
        if method == "POST":
            return _create_bucket(state, query, data)
        if method == "GET":
            return _list_buckets(state, query)
        raise errors.not_found(f"The requested URL {path} was not found on this server.")
    stored = _bucket(state, rest[0])
    if len(rest) == 1:
        if method == "GET":
            return _json(stored.resource)
        if method == "DELETE":
            if stored.objects:
                raise _storage_error(
                    409, "conflict", "The bucket you tried to delete is not empty."
                )
            del state.store(StorageStore).buckets[rest[0]]
            return web.Response(status=204)
    if rest[1:] == ["iam"]:
        if method == "GET":
            return _get_policy(stored, query)
        if method == "PUT":
            members = [m for b in data.get("bindings") or [] for m in b.get("members") or []]
            try:
                act_as.check_usable(state, [m for m in members if isinstance(m, str)])
            except ApiError as exc:
                raise _storage_error(400, "invalid", exc.message) from None
            return _set_policy(stored, data)
    if rest[1:] == ["o"] and method == "GET":
        return _objects(stored, query)
    if len(rest) >= 3 and rest[1] == "o":
        name = "/".join(rest[2:])
        obj = stored.objects.get(name)
        if obj is None:
            raise _storage_error(404, "notFound", f"No such object: {rest[0]}/{name}")
        if method == "GET":
            if query.get("alt") == "media":
                return web.Response(body=obj.data, content_type="application/octet-stream")
            return _json(_object_resource(rest[0], name, obj))
        if method == "DELETE":
            del stored.objects[name]
            return web.Response(status=204)
    raise errors.not_found(f"The requested URL {path} was not found on this server.")


def handle(request: web.Request, state: Any, body: bytes) -> web.Response:
    try:
        return _route(request, state, body)
    except ApiError as exc:
        return error_response(exc)
