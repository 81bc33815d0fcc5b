"""One page of a list that can grow, the way every page of the portal shows it
(templates/_pages.html): several lists on one page each keep their own `?<param>=`."""

from collections.abc import Sequence
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest


def page_of(
    request: HttpRequest, items: Sequence[Any] | QuerySet[Any], *, size: int, param: str = "page"
) -> Page:
    """The page `?<param>=` asks for; get_page shows the first for what is no number and
    the last for one past the end."""
    return with_links(request, Paginator(items, size).get_page(request.GET.get(param)), param)


def with_links(request: HttpRequest, page: Page, param: str) -> Page:
    """`page`, with what the pager's links need: `page.param` and `page.query` (every
    other parameter of the request)."""
    query = request.GET.copy()
    query.pop(param, None)
    page.param = param  # type: ignore[attr-defined]
    page.query = query.urlencode()  # type: ignore[attr-defined]
    return page
