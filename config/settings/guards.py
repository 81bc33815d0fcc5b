"""Refusals production settings make at start-up: a setting that is unsafe stops the process
with what to change, rather than running with it."""

from django.core.exceptions import ImproperlyConfigured

# Values that appear in tutorials, templates and this repository's sandbox settings.
_KNOWN_WEAK = ("changeme", "secret", "password", "django-insecure", "insecure", "hangar")
SECRET_KEY_MIN_LENGTH = 50  # Django's own deploy check (security.W009) asks for this much
SECRET_KEY_MIN_UNIQUE = 10
SANDBOX_MARK = "hangar-sandbox"


def require_strong_secret_key(key: str) -> str:
    lowered = key.lower()
    weak = (
        len(key) < SECRET_KEY_MIN_LENGTH
        or len(set(key)) < SECRET_KEY_MIN_UNIQUE
        or lowered.startswith("django-insecure")
        or any(lowered.replace(word, "") == "" for word in _KNOWN_WEAK)
    )
    if weak:
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY is too weak: use at least {SECRET_KEY_MIN_LENGTH} random "
            f"characters, e.g. python -c 'import secrets; print(secrets.token_urlsafe(64))'."
        )
    return key


def require_named_hosts(hosts: list[str]) -> list[str]:
    if not hosts or "*" in hosts:
        raise ImproperlyConfigured(
            "DJANGO_ALLOWED_HOSTS must name the portal's hosts; '*' lets any Host header in."
        )
    return hosts


def require_not_sandbox(name: str, value: str) -> str:
    if SANDBOX_MARK in value:
        raise ImproperlyConfigured(
            f"{name} is {value!r}, the sandbox's; set the Google Cloud one for production."
        )
    return value
