"""What the metrics endpoint reads at scrape time instead of counting it again: what the
apps add (rollout steps from the engine's ledger in Postgres, deployments/metrics.py) and
the Celery queue's depth from the Redis broker."""

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

# kombu's Redis transport keeps a queue's priority levels in lists of their own.
_PRIORITY_SEPARATOR = "\x06\x16"
_PRIORITY_STEPS = (0, 3, 6, 9)


# Collectors the apps add at start-up (their AppConfig.ready()): what they read from their
# own tables at scrape time. The metrics view asks each, beside the queue's depth.
_SCRAPE_COLLECTORS: list[Collector] = []


def add_scrape_collector(collector: Collector) -> None:
    _SCRAPE_COLLECTORS.append(collector)


def scrape_collectors() -> list[Collector]:
    return [*_SCRAPE_COLLECTORS, QueueDepthCollector()]


class QueueDepthCollector:
    """hangar_celery_queue_depth{queue}: tasks waiting in the broker for a worker (tasks
    a worker holds for a countdown are not waiting there)."""

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "hangar_celery_queue_depth", "Tasks waiting in the broker's queue.", labels=["queue"]
        )
        broker = str(settings.CELERY_BROKER_URL)
        if broker.startswith(("redis://", "rediss://")):
            queue = str(settings.CELERY_TASK_DEFAULT_QUEUE)
            family.add_metric([queue], float(_redis_depth(broker, queue)))
        yield family


def _redis_depth(url: str, queue: str) -> int:
    import redis

    client: Any = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        names = [queue] + [f"{queue}{_PRIORITY_SEPARATOR}{p}" for p in _PRIORITY_STEPS[1:]]
        with client.pipeline() as pipe:
            for name in names:
                pipe.llen(name)
            return int(sum(pipe.execute()))
    finally:
        client.close()
