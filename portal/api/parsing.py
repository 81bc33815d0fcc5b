"""The API's request parsing and paging, bounded so that hostile input is a 4xx.

DRF's JSON parser turns a ValueError into a 400 but lets the RecursionError of a body
nested thousands deep through (a 500), and takes NaN and Infinity, which no client
means; its limit/offset paging passes any integer on to the database, where one past
a bigint is a 500.
"""

import json
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser
from rest_framework.request import Request


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class StrictJSONParser(JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(stream.read().decode(encoding), parse_constant=_no_constant)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
            raise ParseError(f"JSON parse error - {exc}") from None


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """`limit` is capped at max_limit; an `offset` past any real list is one past the end."""

    max_limit = 200
    max_offset = 10**9

    def get_offset(self, request: Request) -> int:
        return min(super().get_offset(request), self.max_offset)
