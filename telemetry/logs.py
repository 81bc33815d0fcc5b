"""Structured JSON logs: every line carries the request id and the deployment id it is
about, from context variables set once per request (RequestContextMiddleware), per
Celery task (its id, connect_celery_context) and per rollout step (log_context).

The formatter is python-json-logger's; the filter only adds the two ids to each record.
"""

import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

request_id: ContextVar[str] = ContextVar("request_id", default="")
deployment_id: ContextVar[str] = ContextVar("deployment_id", default="")

# A caller's X-Request-ID is kept only when it is a plain token (it lands in every line).
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_DEPLOYMENT_PATH = re.compile(r"^/(?:api/v1/)?deployments/(?P<pk>\d{1,12})(?:/|$)")


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.deployment_id = deployment_id.get()
        return True


class ClientErrorFilter(logging.Filter):
    """A 4xx response logged by Django (django.request) keeps its one line and loses the
    traceback: a refusal is the expected outcome of a request, not a fault to debug."""

    def filter(self, record: logging.LogRecord) -> bool:
        if 400 <= getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True


@contextmanager
def log_context(
    *,
    request: str | None = None,
    deployment: object = None,
    owner_kind: str = "",
    owner_id: object = None,
) -> Iterator[None]:
    """Lines logged inside carry these ids (None keeps what is set). A plan's owner
    (runbook/) names the deployment its lines are about when it is one."""
    if owner_kind == "deployment" and deployment is None:
        deployment = owner_id
    tokens = []
    if request is not None:
        tokens.append((request_id, request_id.set(request)))
    if deployment is not None:
        tokens.append((deployment_id, deployment_id.set(str(deployment))))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def new_request_id(presented: str = "") -> str:
    return presented if _REQUEST_ID.fullmatch(presented) else uuid.uuid4().hex


class RequestContextMiddleware:
    """Each request gets an id (the caller's X-Request-ID when it is a plain token), sent
    back in X-Request-ID; a deployment's pages and API routes name the deployment.

    Sync and async capable, as Django's own middleware: a sync-only one would run every
    async view (the streaming proxy) through a thread and a loop of its own."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self._async:
            return self._acall(request)
        rid = _enter(request)
        response = self.get_response(request)
        response["X-Request-ID"] = rid
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        rid = _enter(request)
        response = await self.get_response(request)
        response["X-Request-ID"] = rid
        return response


def _enter(request: HttpRequest) -> str:
    """Set the request's ids until it is finished: Django logs a request's outcome
    ("Not Found: ...") after the middleware has returned, and that line wants them too."""
    match = _DEPLOYMENT_PATH.match(request.path)
    rid = new_request_id(request.headers.get("X-Request-ID", ""))
    request_id.set(rid)
    deployment_id.set(match["pk"] if match else "")
    return rid


@receiver(request_finished)
def _leave(**_: Any) -> None:
    request_id.set("")
    deployment_id.set("")


def connect_celery_context() -> None:
    """Lines a task logs carry its task id as the request id."""
    from celery.signals import task_postrun, task_prerun

    tokens: dict[str, Any] = {}

    @task_prerun.connect(weak=False)
    def _start(task_id: str = "", **_: Any) -> None:
        tokens[task_id] = request_id.set(task_id)

    @task_postrun.connect(weak=False)
    def _end(task_id: str = "", **_: Any) -> None:
        token = tokens.pop(task_id, None)
        if token is not None:
            request_id.reset(token)
