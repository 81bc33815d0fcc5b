"""Settings shared by every environment; each value comes from the environment.

`local.py` (the default) runs everything on one machine against the sandbox,
`production.py` points at Google Cloud and refuses to start without its secrets,
`test.py` swaps in the machine's Postgres and Redis.
"""

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "runbook",
    "portal",
    "deployments",
    "clusters",
    "playground",
    "metering",
    "workers",
]

MIDDLEWARE = [
    # First, so every line logged while serving carries the request's id.
    "telemetry.logs.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.notifications",
                "deployments.context_processors.approvals_waiting",
            ],
        },
    },
]

# SQLite on one machine needs IMMEDIATE transactions and WAL, or the web process
# and the worker trip over "database is locked".
_SQLITE_DEFAULT = f"sqlite:///{VAR_DIR / 'hangar.sqlite3'}"
DATABASES = {"default": env.db("DATABASE_URL", default=_SQLITE_DEFAULT)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "deployments:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Front-end packages come from the npm registry at setup (scripts/setup), never from a CDN.
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor", BASE_DIR / "node_modules")]

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "portal.api.permissions.TokenScopeAllows",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.exception_handler.hangar_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "portal.api.parsing.BoundedLimitOffsetPagination",
    # The API takes JSON only, and so its schema advertises JSON only: a client generated
    # from it would otherwise pick multipart and send fields DRF cannot read as JSON.
    # (The HTML forms are Django views, parsed by Django, not by these.)
    "DEFAULT_PARSER_CLASSES": ["portal.api.parsing.StrictJSONParser"],
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Hangar API",
    "DESCRIPTION": "Request, approve, roll out and tear down LLM deployments on Google Cloud GPUs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "DeploymentStatusEnum": "deployments.choices.Status",
        "DeploymentTargetEnum": "deployments.targets.TARGET_NAMES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "deployments.api.openapi.add_passthrough",
        "deployments.api.openapi.add_error_responses",
    ],
}

# Structured JSON lines with the request and deployment ids (telemetry/logs.py);
# LOG_FORMAT=plain for a person reading a terminal.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "telemetry.logs.ContextFilter"},
        "client_errors": {"()": "telemetry.logs.ClientErrorFilter"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s "
            "%(deployment_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(deployment_id)s] "
            "%(message)s"
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env("LOG_FORMAT", default="json"),
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own console handler (DEBUG only) printed each error a second time before
        # it reached the root's: Django's lines go to the root's handler alone.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # A refused request (403, 404...) is the client's doing: one line, no traceback.
        "django.request": {"filters": ["client_errors"], "propagate": True},
    },
}

# --- Hangar's own metrics (telemetry/) ---
# prometheus_client's multiprocess mode: every web and worker process of a machine writes
# its values under one directory, which must be set before prometheus_client is imported.
# Whoever starts the processes empties it first (a fresh container's is empty).
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(VAR_DIR / "prometheus"))
Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
METRICS = {
    # The bearer token Prometheus scrapes /metrics with. No default: unset, /metrics is off.
    "TOKEN": env("METRICS_TOKEN", default=None),
}

# --- Celery: long rollouts are many short, idempotent tasks (see config/celery.py) ---
CELERY_BROKER_URL = env(
    "CELERY_BROKER_URL", default="filesystem://"
)  # no broker server needed on one machine
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    # Must exceed the longest countdown we schedule (ROLLOUT_POLL_MAX_SECONDS) by far,
    # or Redis redelivers the waiting task again and again.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery-broker"
    for _folder in ("processed", "control"):
        (_queue_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS |= {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="hangar")
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=90)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=120)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Rollouts ---
ROLLOUT = {
    # First and longest wait between two checks of a running operation.
    "POLL_SECONDS": env.float("ROLLOUT_POLL_SECONDS", default=5.0),
    "POLL_MAX_SECONDS": env.float("ROLLOUT_POLL_MAX_SECONDS", default=60.0),
    # A step whose worker vanished is taken over once its lease runs out; keep it
    # longer than CELERY_TASK_TIME_LIMIT so a live worker never loses its step.
    "STEP_LEASE_SECONDS": env.float("ROLLOUT_STEP_LEASE_SECONDS", default=150.0),
    # The reconciler re-queues a rollout that has not moved for this long.
    "STALL_SECONDS": env.float("ROLLOUT_STALL_SECONDS", default=120.0),
    "RECONCILE_EVERY_SECONDS": env.float("ROLLOUT_RECONCILE_EVERY_SECONDS", default=30.0),
    # A queued advance this far past its due time never reached a worker (a broker
    # restart): the reconciler sends another. Longer than the queue takes to drain at the
    # busiest, or a slow queue would be taken for a lost task.
    "LOST_TASK_SECONDS": env.float("ROLLOUT_LOST_TASK_SECONDS", default=900.0),
    # A create that got no answer (a timeout) may still reach Google this long after: a
    # step without a deterministic name (a Cloud Build) looks again instead of creating a
    # second one until then.
    "LATE_REQUEST_SECONDS": env.float("ROLLOUT_LATE_REQUEST_SECONDS", default=120.0),
    # A new service account may stay invisible to IAM "for 60 seconds or more"
    # (https://cloud.google.com/iam/docs/service-accounts-create); grants on it wait this long.
    "ACCOUNT_PROPAGATION_SECONDS": env.float("ROLLOUT_ACCOUNT_PROPAGATION_SECONDS", default=420.0),
    # Transient Google errors (429, 5xx) are retried this many times per call, in a row:
    # the count starts again once the call gets through (runbook/ledger.py).
    "MAX_RETRIES": env.int("ROLLOUT_MAX_RETRIES", default=6),
    # The most any step may take when its plan declares no deadline of its own (a plan
    # declares its waits': a rollout's, a GKE operation's, a Gateway's). Longer than the
    # longest Cloud Build Hangar starts (its timeout, 1 h) so a build fails by its own.
    "STEP_DEADLINE_SECONDS": env.float("ROLLOUT_STEP_DEADLINE_SECONDS", default=2 * 3600.0),
    # Every deadline is multiplied by this: tests shrink it to play a wait that never ends.
    "DEADLINE_SCALE": env.float("ROLLOUT_DEADLINE_SCALE", default=1.0),
    # How long a fresh service may take to answer its first chat (model loading).
    "SMOKE_TEST_TIMEOUT_SECONDS": env.float("ROLLOUT_SMOKE_TEST_TIMEOUT_SECONDS", default=300.0),
    # A probe of a model server still starting (Cloud Run holds the request meanwhile)
    # holds a worker this long at most; until it answers, the step is re-queued. A warm
    # vLLM /health or Ollama root answers in milliseconds.
    "SMOKE_TEST_CHECK_SECONDS": env.float("ROLLOUT_SMOKE_TEST_CHECK_SECONDS", default=1.0),
}

# --- Governance ---
GOVERNANCE = {
    # How often spend is accrued and expiries are checked.
    "TICK_SECONDS": env.float("GOVERNANCE_TICK_SECONDS", default=60.0),
    # Requesters are warned this long before their deployment expires.
    "EXPIRY_WARNING_HOURS": env.float("GOVERNANCE_EXPIRY_WARNING_HOURS", default=24.0),
    # Teams at or above this share of their monthly budget are "close" on the spend page.
    "BUDGET_WARNING_RATIO": env.float("GOVERNANCE_BUDGET_WARNING_RATIO", default=0.8),
}

# --- Measured spend and model-server metrics (metering/) ---
METERING = {
    # How often Google's billed time is read into the day ledger.
    "MEASURE_EVERY_SECONDS": env.float("METERING_MEASURE_EVERY_SECONDS", default=300.0),
    # A day is final (not read again) this long after it ends: Cloud Monitoring shows a
    # sample up to 180 s after it is taken; an hour leaves room for a late tick.
    "SETTLE_SECONDS": env.float("METERING_SETTLE_SECONDS", default=3600.0),
    # Model servers' own metrics (vLLM /metrics, Ollama /api/ps): read this often, each read
    # bounded by the timeout, kept this long (the charts show the last hour and day).
    "SAMPLE_EVERY_SECONDS": env.float("METERING_SAMPLE_EVERY_SECONDS", default=60.0),
    "SAMPLE_TIMEOUT_SECONDS": env.float("METERING_SAMPLE_TIMEOUT_SECONDS", default=5.0),
    "SAMPLE_RETENTION_HOURS": env.float("METERING_SAMPLE_RETENTION_HOURS", default=48.0),
    # A deployment that scales to zero is read only this long after a proxied request, so a
    # read never starts an instance nor keeps one (billed) much past its last use.
    "SAMPLE_AFTER_USE_SECONDS": env.float("METERING_SAMPLE_AFTER_USE_SECONDS", default=120.0),
    # The deployment page re-reads its model-server charts this often (from Postgres).
    "CHART_REFRESH_SECONDS": env.float("METERING_CHART_REFRESH_SECONDS", default=10.0),
}

# How often the ready clusters are read from GKE (clusters/health.py): a cluster deleted
# outside Hangar is marked lost within this long.
CLUSTER_CHECK_EVERY_SECONDS = env.float("CLUSTER_CHECK_EVERY_SECONDS", default=60.0)

CELERY_BEAT_SCHEDULE = {
    "check-clusters": {
        "task": "workers.tasks.check_clusters",
        "schedule": CLUSTER_CHECK_EVERY_SECONDS,
        "options": {"expires": CLUSTER_CHECK_EVERY_SECONDS},
    },
    # Every owner's plans (deployments, clusters): runbook/ledger.py requeue_stalled.
    "reconcile-rollouts": {
        "task": "workers.tasks.reconcile",
        "schedule": ROLLOUT["RECONCILE_EVERY_SECONDS"],
        # A tick that waited in a long queue past the next one is dropped, not run late.
        "options": {"expires": ROLLOUT["RECONCILE_EVERY_SECONDS"]},
    },
    "governance-tick": {
        "task": "workers.tasks.governance_tick",
        "schedule": GOVERNANCE["TICK_SECONDS"],
        # Spend accrues up to "now" whenever a tick runs, so a dropped tick loses nothing.
        "options": {"expires": GOVERNANCE["TICK_SECONDS"]},
    },
    "measure-spend": {
        "task": "workers.tasks.measure_spend",
        "schedule": METERING["MEASURE_EVERY_SECONDS"],
        # Each read upserts the day's whole measurement, so a dropped tick loses nothing.
        "options": {"expires": METERING["MEASURE_EVERY_SECONDS"]},
    },
    "sample-model-servers": {
        "task": "workers.tasks.sample_model_servers",
        "schedule": METERING["SAMPLE_EVERY_SECONDS"],
        "options": {"expires": METERING["SAMPLE_EVERY_SECONDS"]},
    },
}

# --- Google Cloud ---
GCP = {
    "PROJECT": env("GCP_PROJECT", default="hangar-sandbox"),
    # The identity the portal and its workers run as: the only invoker of the
    # private services Hangar deploys.
    "PORTAL_SERVICE_ACCOUNT": env(
        "GCP_PORTAL_SERVICE_ACCOUNT",
        default="hangar-portal@hangar-sandbox.iam.gserviceaccount.com",
    ),
    # Artifact Registry repository (one per region) that holds Hangar's images.
    "REGISTRY_REPOSITORY": env("GCP_REGISTRY_REPOSITORY", default="hangar"),
    # Empty means Google's own endpoints; the sandbox sets one base URL for all APIs.
    "API_ENDPOINT": env("GCP_API_ENDPOINT", default=""),
    "HTTP_TIMEOUT_SECONDS": env.float("GCP_HTTP_TIMEOUT_SECONDS", default=30.0),
    # HTTP proxies to a GKE Gateway's address: a private one (internal Gateway) through
    # the VPC's, a public one (external Gateway) through an egress proxy. Empty: direct,
    # as from a portal running in the VPC.
    "VPC_HTTP_PROXY": env("GCP_VPC_HTTP_PROXY", default=""),
    "PUBLIC_HTTP_PROXY": env("GCP_PUBLIC_HTTP_PROXY", default=""),
    # The VPC's subnet ranges (CIDRs, comma-separated): an internal Gateway's address must be
    # inside one to become an endpoint. The default is what an auto mode VPC's subnets take
    # their ranges from, 10.128.0.0/9 (https://cloud.google.com/vpc/docs/subnets#ip-ranges);
    # a custom mode VPC lists its own.
    "VPC_RANGES": env.list("GCP_VPC_RANGES", default=["10.128.0.0/9"]),
    # Google's universe: googleapis.com, or a sovereign one such as seed 003's s3nsapis.fr.
    # The clients reach SERVICE.UNIVERSE (unless API_ENDPOINT is set), and service-account
    # e-mails and Workload Identity pools are named after it (gcp/universe.py).
    "UNIVERSE_DOMAIN": env("GCP_UNIVERSE_DOMAIN", default="googleapis.com"),
    # The seed builds FROM ollama/ollama:latest; pin a version here for repeatable images.
    "OLLAMA_IMAGE": env("OLLAMA_IMAGE", default="ollama/ollama:latest"),
    # vLLM's OpenAI server image: the base of baked images, and what bucket-mode services
    # run as is. Gemma 4 needs a recent vLLM; seed 001's v0.9.0 serves only Gemma 3.
    "VLLM_IMAGE": env("VLLM_IMAGE", default="vllm/vllm-openai:v0.21.0"),
    # The identity every build runs as (named in the build; the portal needs
    # roles/iam.serviceAccountUser on it). Each plan grants it what that build needs: the
    # team's Hugging Face secret, write on the weights bucket. Empty: hangar-builder@PROJECT,
    # created once (README, Least privilege); never the project's default build account.
    "BUILD_SERVICE_ACCOUNT": env("GCP_BUILD_SERVICE_ACCOUNT", default=""),
}

# --- Playground: the chat page and its streaming proxy (playground/) ---
PLAYGROUND = {
    # A scaled-to-zero endpoint loads its model first; hold the request this long,
    # telling the browser every WARMING_EVERY_SECONDS, before giving up.
    "COLD_START_LIMIT_SECONDS": env.float("PLAYGROUND_COLD_START_LIMIT_SECONDS", default=300.0),
    "WARMING_AFTER_SECONDS": env.float("PLAYGROUND_WARMING_AFTER_SECONDS", default=1.0),
    "WARMING_EVERY_SECONDS": env.float("PLAYGROUND_WARMING_EVERY_SECONDS", default=1.0),
    # Once tokens flow, a silence this long ends the stream.
    "IDLE_LIMIT_SECONDS": env.float("PLAYGROUND_IDLE_LIMIT_SECONDS", default=120.0),
    "CONNECT_TIMEOUT_SECONDS": env.float("PLAYGROUND_CONNECT_TIMEOUT_SECONDS", default=10.0),
    # Each stream holds an upstream slot for minutes; cap them per user (atomic in Redis).
    "STREAMS_PER_USER": env.int("PLAYGROUND_STREAMS_PER_USER", default=4),
    # Empty: Redis at CELERY_BROKER_URL when that is Redis, else an in-process count.
    "REDIS_URL": env("PLAYGROUND_REDIS_URL", default=""),
    # Who may reach which endpoint is re-checked after this long (sign-out, revoked token).
    "ACCESS_CACHE_SECONDS": env.float("PLAYGROUND_ACCESS_CACHE_SECONDS", default=5.0),
    # Idle upstream connections are dropped after this, below the endpoints' own keep-alive:
    # vLLM serves on uvicorn, whose --timeout-keep-alive defaults to 5 s
    # (https://www.uvicorn.org/settings/#timeouts).
    "UPSTREAM_KEEPALIVE_SECONDS": env.float("PLAYGROUND_UPSTREAM_KEEPALIVE_SECONDS", default=4.0),
    # Threads for the proxy's database work (each keeps one connection).
    "DB_THREADS": env.int("PLAYGROUND_DB_THREADS", default=4),
    # Google's own threshold is 3 min 45 s; refresh a little earlier, beside requests.
    "ID_TOKEN_REFRESH_MARGIN_SECONDS": env.float(
        "PLAYGROUND_ID_TOKEN_REFRESH_MARGIN_SECONDS", default=300.0
    ),
}
