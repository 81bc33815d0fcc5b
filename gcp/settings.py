"""The one place gcp/ reads Django's settings (config/settings/base.py says what each
means), so the adapters take no configuration of their own and tests override one dict."""

from typing import Any

from django.conf import settings


def gcp_setting(key: str, default: Any = None) -> Any:
    """A value of settings.GCP: the project, the API endpoint, the universe, timeouts."""
    return settings.GCP.get(key, default)


def id_token_refresh_margin() -> float:
    """Seconds before an endpoint's ID token expires that a fresh one is minted."""
    return float(settings.PLAYGROUND["ID_TOKEN_REFRESH_MARGIN_SECONDS"])
