"""GET /metrics: Hangar's own metrics in Prometheus' text format, for a scraper holding the
bearer token in METRICS_TOKEN, or a signed-in platform admin. Without METRICS_TOKEN the
endpoint is off (404): it has no default."""

import hmac
import os

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

from portal.access import is_platform_admin
from telemetry import instruments  # noqa: F401 (defines the metrics this process writes)
from telemetry.scrape import scrape_collectors


def _allowed(request: HttpRequest, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() == "bearer" and presented:
        return hmac.compare_digest(presented.strip().encode(), token.encode())
    return bool(request.user.is_authenticated and is_platform_admin(request.user))


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS["TOKEN"]
    if not token:
        raise Http404("The metrics endpoint is off (METRICS_TOKEN is not set).")
    if not _allowed(request, token):
        response = HttpResponse("A metrics bearer token is required.\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="hangar-metrics"'
        return response
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY  # one process: its own values
    output = generate_latest(registry)
    extra = CollectorRegistry()
    for collector in scrape_collectors():
        extra.register(collector)
    return HttpResponse(output + generate_latest(extra), content_type=CONTENT_TYPE_LATEST)
