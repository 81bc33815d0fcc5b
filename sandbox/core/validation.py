"""Strict request parsing and the value rules Google applies to every API.

Bodies go through protobuf's json_format with unknown fields rejected, using the
message classes of the installed client libraries, and parse errors are reworded
the way Google's JSON transcoder words them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from sandbox.core.errors import ApiError, invalid

M = TypeVar("M", bound=Message)

# Regions that exist in Google Cloud (2026); a typo must not create a resource.
REGIONS = frozenset(
    {
        "africa-south1",
        "asia-east1",
        "asia-east2",
        "asia-northeast1",
        "asia-northeast2",
        "asia-northeast3",
        "asia-south1",
        "asia-south2",
        "asia-southeast1",
        "asia-southeast2",
        "australia-southeast1",
        "australia-southeast2",
        "europe-central2",
        "europe-north1",
        "europe-north2",
        "europe-southwest1",
        "europe-west1",
        "europe-west2",
        "europe-west3",
        "europe-west4",
        "europe-west6",
        "europe-west8",
        "europe-west9",
        "europe-west10",
        "europe-west12",
        "me-central1",
        "me-central2",
        "me-west1",
        "northamerica-northeast1",
        "northamerica-northeast2",
        "northamerica-south1",
        "southamerica-east1",
        "southamerica-west1",
        "us-central1",
        "us-east1",
        "us-east4",
        "us-east5",
        "us-south1",
        "us-west1",
        "us-west2",
        "us-west3",
        "us-west4",
    }
)
MULTI_REGIONS = frozenset({"us", "europe", "asia"})

# Query parameters every Google API accepts besides the request message's fields.
SYSTEM_PARAMS = frozenset({"$alt", "alt", "prettyPrint", "fields", "$fields", "quotaUser"})

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def snake(path: str) -> str:
    return ".".join(_CAMEL.sub("_", part).lower() for part in path.split("."))


def parse_json_body(text: str, message: M, body_field: str | None) -> M:
    """Parse `text` into `message` as Google's transcoder would, or raise 400."""
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise invalid(f"Invalid JSON payload received. Unexpected token.\n{exc}") from exc
    if not isinstance(data, dict):
        raise invalid("Invalid JSON payload received. Expected an object as the request body.")
    try:
        json_format.ParseDict(data, message, ignore_unknown_fields=False)
    except json_format.ParseError as exc:
        raise _reword(str(exc), body_field) from exc
    return message


def _reword(text: str, body_field: str | None) -> ApiError:
    unknown = re.search(r'has no field named "([^"]+)" at "([^"]+)"', text)
    if unknown:
        name, where = unknown.groups()
        path = _location(where.split(".", 1)[1] if "." in where else "", body_field)
        at = f" at '{path}'" if path else ""
        message = f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.'
        return invalid(message, field=path or None)
    chain = re.findall(r"Failed to parse (\w+) field", text)
    path = _location(".".join(chain), body_field)
    detail = re.sub(r"^(Failed to parse \w+ field: )+", "", text).strip()
    detail = detail.rstrip(".") + "."
    at = f" at '{path}'" if path else ""
    return invalid(
        f"Invalid JSON payload received. Invalid value{at}: {detail}", field=path or None
    )


def _location(inner: str, body_field: str | None) -> str:
    parts = [p for p in (body_field, snake(inner) if inner else "") if p]
    return ".".join(parts)


def parse_query(query: Iterable[tuple[str, str]], message: M, exclude: Iterable[str]) -> M:
    """Bind query parameters to the request message's non-path, non-body fields."""
    excluded = set(exclude)
    tree: dict[str, Any] = {}
    for key, value in query:
        if key in SYSTEM_PARAMS:
            continue
        field, container = _resolve(message.DESCRIPTOR, key, excluded)
        if field is None:
            raise invalid(
                f'Invalid JSON payload received. Unknown name "{key}": Cannot bind query '
                f"parameter. Field '{key}' could not be found in request message."
            )
        converted = _convert(field, key, value)
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if field.is_repeated:
            node.setdefault(parts[-1], []).append(converted)
        else:
            node[parts[-1]] = converted
        del container
    try:
        json_format.ParseDict(tree, message, ignore_unknown_fields=False)
    except json_format.ParseError as exc:
        raise invalid(f"Invalid value in query parameters: {exc}") from exc
    return message


def _resolve(
    desc: Descriptor, dotted: str, excluded: set[str]
) -> tuple[FieldDescriptor | None, Descriptor | None]:
    current: Descriptor | None = desc
    field: FieldDescriptor | None = None
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        if current is None:
            return None, None
        field = current.fields_by_camelcase_name.get(part) or current.fields_by_name.get(part)
        if field is None or (i == 0 and (field.name in excluded or field.json_name in excluded)):
            return None, None
        current = field.message_type if field.type == FieldDescriptor.TYPE_MESSAGE else None
        if (
            current is not None
            and i < len(parts) - 1
            and current.full_name.startswith("google.protobuf.")
        ):
            return None, None
    return field, current


_INT_TYPES = {
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED32,
    FieldDescriptor.TYPE_FIXED64,
}


def _convert(field: FieldDescriptor, key: str, value: str) -> Any:
    bad = invalid(f"Invalid value at '{snake(key)}' ({_type_name(field)}), \"{value}\"")
    if field.type == FieldDescriptor.TYPE_BOOL:
        if value not in ("true", "false"):
            raise bad
        return value == "true"
    if field.type in _INT_TYPES:
        if not re.fullmatch(r"-?\d+", value):
            raise bad
        return int(value)
    if field.type == FieldDescriptor.TYPE_ENUM:
        return int(value) if value.isdigit() else value
    return value


def _type_name(field: FieldDescriptor) -> str:
    names = {FieldDescriptor.TYPE_BOOL: "TYPE_BOOL", FieldDescriptor.TYPE_ENUM: "TYPE_ENUM"}
    return names.get(field.type, "TYPE_INT32" if field.type in _INT_TYPES else "TYPE_STRING")


def to_json(message: Message, int_enums: bool = False) -> dict[str, Any]:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=False, use_integers_for_enums=int_enums
    )


# ---- quantities -----------------------------------------------------------------

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_DECIMAL = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "": 1}


def parse_cpu(value: str) -> Decimal:
    """Kubernetes CPU quantity ("8", "0.5", "4000m") in cores."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(m?)", value)
    if not match:
        raise ValueError(value)
    number = Decimal(match.group(1))
    return number / 1000 if match.group(2) else number


def parse_memory(value: str) -> int:
    """Kubernetes memory quantity ("32Gi", "16384Mi", "512M") in bytes."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T|)", value)
    if not match:
        raise ValueError(value)
    try:
        number = Decimal(match.group(1))
    except InvalidOperation as exc:  # pragma: no cover - regex already guards
        raise ValueError(value) from exc
    unit = match.group(2)
    factor = _BINARY.get(unit) or _DECIMAL[unit]
    return int(number * factor)


GIB = 2**30


# ---- pagination -----------------------------------------------------------------


def paginate(
    items: list[Any], page_size: int, page_token: str, default: int = 100
) -> tuple[list[Any], str]:
    """Offset-based pages; tokens are opaque to callers but must be ones we issued."""
    if page_size < 0:
        raise invalid("page_size must not be negative")
    size = page_size or default
    start = 0
    if page_token:
        match = re.fullmatch(r"sbx-(\d+)", page_token)
        if not match:
            raise invalid("The page token is invalid.")
        start = int(match.group(1))
    page = items[start : start + size]
    next_token = f"sbx-{start + size}" if start + size < len(items) else ""
    return page, next_token


def labels_ok(labels: Mapping[str, str], field: str) -> None:
    """Label keys and values as every Google API constrains them."""
    if len(labels) > 64:
        raise invalid("Too many labels (the maximum is 64).", field)
    for key, value in labels.items():
        if not re.fullmatch(r"[a-z][a-z0-9_-]{0,62}", key):
            raise invalid(f"Invalid label key '{key}'.", field)
        if not re.fullmatch(r"[a-z0-9_-]{0,63}", value):
            raise invalid(f"Invalid label value '{value}' for key '{key}'.", field)
