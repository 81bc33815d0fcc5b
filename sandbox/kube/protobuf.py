"""Kubernetes' protobuf encoding, read for the objects kubectl's generators send that way
(`kubectl create namespace | serviceaccount | secret generic | configmap`: typed clients
send `application/vnd.kubernetes.protobuf`).

The envelope (https://kubernetes.io/docs/reference/using-api/api-concepts/#protobuf-encoding):
the magic `k8s\\x00`, then a `runtime.Unknown` (typeMeta 1 {apiVersion 1, kind 2}, raw 2,
contentEncoding 3, contentType 4) whose `raw` is the object's message. Field numbers are
those of k8s.io/api/core/v1/generated.proto and apimachinery's meta/v1 ObjectMeta; only
the fields those generators fill are read, and another kind is refused as the sandbox
cannot decode it (415).
"""

from __future__ import annotations

import base64
from typing import Any

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"


class Undecodable(Exception):
    pass


def _varint(data: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        if i >= len(data):
            raise Undecodable("truncated varint")
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i
        shift += 7


def fields(data: bytes) -> list[tuple[int, Any]]:
    """(field number, value) pairs: ints for varints, bytes for length-delimited."""
    out: list[tuple[int, Any]] = []
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 2:
            size, i = _varint(data, i)
            value, i = data[i : i + size], i + size
        elif wire == 1:
            value, i = data[i : i + 8], i + 8
        elif wire == 5:
            value, i = data[i : i + 4], i + 4
        else:
            raise Undecodable(f"wire type {wire}")
        out.append((number, value))
    return out


def _map(entries: list[bytes], binary: bool = False) -> dict[str, str]:
    out = {}
    for entry in entries:
        parts = dict(fields(entry))
        value = parts.get(2, b"")
        text = base64.b64encode(value).decode() if binary else value.decode()
        out[parts.get(1, b"").decode()] = text
    return out


def _meta(data: bytes) -> dict[str, Any]:
    found = fields(data)
    meta: dict[str, Any] = {}
    for number, key in ((1, "name"), (2, "generateName"), (3, "namespace")):
        values = [v for n, v in found if n == number]
        if values and values[-1]:
            meta[key] = values[-1].decode()
    for number, key in ((11, "labels"), (12, "annotations")):
        entries = [v for n, v in found if n == number]
        if entries:
            meta[key] = _map(entries)
    return meta


def _repeated(found: list[tuple[int, Any]], number: int) -> list[Any]:
    return [v for n, v in found if n == number]


def decode(body: bytes) -> dict[str, Any]:
    if not body.startswith(MAGIC):
        raise Undecodable("no protobuf envelope")
    unknown = dict(fields(body[len(MAGIC) :]))
    type_meta = dict(fields(unknown.get(1, b"")))
    api_version = type_meta.get(1, b"").decode()
    kind = type_meta.get(2, b"").decode()
    found = fields(unknown.get(2, b""))
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    metas = _repeated(found, 1)
    obj["metadata"] = _meta(metas[-1]) if metas else {}
    if (api_version, kind) == ("v1", "Namespace"):
        return obj
    if (api_version, kind) == ("v1", "ServiceAccount"):
        names = [dict(fields(ref)).get(1, b"").decode() for ref in _repeated(found, 2)]
        if names:
            obj["secrets"] = [{"name": n} for n in names]
        return obj
    if (api_version, kind) == ("v1", "Secret"):
        data = _map(_repeated(found, 2), binary=True)
        if data:
            obj["data"] = data
        types = _repeated(found, 3)
        if types:
            obj["type"] = types[-1].decode()
        string_data = _map(_repeated(found, 4))
        if string_data:
            obj["stringData"] = string_data
        return obj
    if (api_version, kind) == ("v1", "ConfigMap"):
        data = _map(_repeated(found, 2))
        if data:
            obj["data"] = data
        binary = _map(_repeated(found, 3), binary=True)
        if binary:
            obj["binaryData"] = binary
        return obj
    raise Undecodable(f"{api_version} {kind}")
