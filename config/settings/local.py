"""One machine, no servers to install: SQLite, a file-system broker and the sandbox."""

from .base import *  # noqa: F403
from .base import env
from .sandbox import SANDBOX_URL  # noqa: F401

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# No default: scripts/run generates one into var/local.env on first start.
SECRET_KEY = env("DJANGO_SECRET_KEY")

# Serve static files straight from the finders (no collectstatic) while developing.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
