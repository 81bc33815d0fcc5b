"""Hangar's own metrics (a protected Prometheus endpoint) and structured JSON logs.

Several processes write metrics: the web tier's processes (Django and the lean ASGI proxy)
and every Celery worker process. prometheus_client's multiprocess mode keeps each
process's values in files under one directory (PROMETHEUS_MULTIPROC_DIR, set by the
settings before prometheus_client is first imported) and the endpoint sums them at scrape
(telemetry.instruments). What already lives in Postgres or Redis is read at scrape rather
than counted twice: rollout step durations and outcomes from the engine's ledger
(Postgres, deployments/metrics.py), the Celery queue's depth from the broker (Redis)
(telemetry.scrape). It imports no app: the apps add what they read at scrape time.
"""
