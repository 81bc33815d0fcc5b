"""The Celery app: configuration from Django settings (CELERY_*), tasks autodiscovered.

Rollouts are chains of short, idempotent tasks whose state lives in Postgres, so the
settings favour redelivery over loss: late acks, requeue on a lost worker, one
prefetched task per process, and hard time limits (see config/settings/base.py).
"""

import os

from celery import Celery

from telemetry.logs import connect_celery_context

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("hangar")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
connect_celery_context()  # log lines carry the task's id (telemetry/logs.py)
