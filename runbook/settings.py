"""The one place the engine reads Django's settings (ROLLOUT in config/settings/base.py)."""

from typing import Any

from django.conf import settings


def rollout_setting(key: str) -> Any:
    """A value of settings.ROLLOUT: poll and lease times, retries, deadlines."""
    return settings.ROLLOUT[key]
