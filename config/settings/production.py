"""Google Cloud. Every secret and host comes from the environment, with no default."""

from .base import *  # noqa: F403
from .base import GCP, env
from .guards import require_named_hosts, require_not_sandbox, require_strong_secret_key

DEBUG = False
SECRET_KEY = require_strong_secret_key(env("DJANGO_SECRET_KEY"))
ALLOWED_HOSTS = require_named_hosts(env.list("DJANGO_ALLOWED_HOSTS"))
# No sandbox defaults: the project Hangar deploys into and the identity that alone may
# call what it deploys are named, or the portal does not start.
GCP["PROJECT"] = require_not_sandbox("GCP_PROJECT", env("GCP_PROJECT"))
GCP["PORTAL_SERVICE_ACCOUNT"] = require_not_sandbox(
    "GCP_PORTAL_SERVICE_ACCOUNT", env("GCP_PORTAL_SERVICE_ACCOUNT")
)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
CELERY_BROKER_URL = env("CELERY_BROKER_URL")

# Behind Google's load balancer, which terminates TLS and sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
