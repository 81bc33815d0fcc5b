"""Tests run on this machine's real Postgres and Redis, against a sandbox the tests start."""

import os
from urllib.parse import urlsplit, urlunsplit

# Tests start their own sandbox on a port of their own, apart from a running portal's.
os.environ.setdefault("SANDBOX_URL", "http://127.0.0.1:18765")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/7")


def _shifted(url: str, *, port: int = 0, db: int = 0) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.hostname}:{(parts.port or 0) + port}" if port else parts.netloc
    path = f"/{int(parts.path.strip('/') or 0) + db}" if db else parts.path
    return urlunsplit(parts._replace(netloc=netloc, path=path))


# Under pytest-xdist every test process gets its own sandbox port and Redis database
# (pytest-django already gives it its own test database). What a test process starts
# (Celery workers) inherits the shifted values and HANGAR_TEST_WORKER, so it does not shift
# them again; xdist's processes inherit the controller's, which never shifts.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if os.environ.get("HANGAR_TEST_WORKER") != _worker:
    os.environ["HANGAR_TEST_WORKER"] = _worker
    _slot = int(_worker[2:]) if _worker.startswith("gw") else 0
    if _slot:
        os.environ["SANDBOX_URL"] = _shifted(os.environ["SANDBOX_URL"], port=_slot)
        os.environ["CELERY_BROKER_URL"] = _shifted(os.environ["CELERY_BROKER_URL"], db=_slot)

# The settings below read the environment prepared above.
from .base import *  # noqa: E402, F403
from .base import GCP, ROLLOUT, env  # noqa: E402
from .sandbox import SANDBOX_URL  # noqa: E402, F401

SECRET_KEY = "test-only-key-not-secret-" + "x" * 40  # test settings only
DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/hangar"),
}
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
ROLLOUT |= {
    "POLL_SECONDS": env.float("ROLLOUT_POLL_SECONDS", default=0.2),
    "POLL_MAX_SECONDS": env.float("ROLLOUT_POLL_MAX_SECONDS", default=0.5),
    "STEP_LEASE_SECONDS": env.float("ROLLOUT_STEP_LEASE_SECONDS", default=20.0),
    "STALL_SECONDS": env.float("ROLLOUT_STALL_SECONDS", default=3.0),
    "RECONCILE_EVERY_SECONDS": env.float("ROLLOUT_RECONCILE_EVERY_SECONDS", default=1.0),
    "LOST_TASK_SECONDS": env.float("ROLLOUT_LOST_TASK_SECONDS", default=5.0),
    "LATE_REQUEST_SECONDS": env.float("ROLLOUT_LATE_REQUEST_SECONDS", default=6.0),
    "ACCOUNT_PROPAGATION_SECONDS": env.float("ROLLOUT_ACCOUNT_PROPAGATION_SECONDS", default=20.0),
    "SMOKE_TEST_TIMEOUT_SECONDS": env.float("ROLLOUT_SMOKE_TEST_TIMEOUT_SECONDS", default=20.0),
}
# Short, so a test can hold a request past it (sandbox delay faults) without waiting long.
GCP["HTTP_TIMEOUT_SECONDS"] = env.float("GCP_HTTP_TIMEOUT_SECONDS", default=3.0)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True  # no collectstatic in tests
