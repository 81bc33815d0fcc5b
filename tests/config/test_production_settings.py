"""Production refuses to start on unsafe configuration, and has no sandbox defaults."""

import pytest

from tests.config.test_deployment_files import PRODUCTION_ENV, manage

GOOGLE = {name: PRODUCTION_ENV[name] for name in ("GCP_PROJECT", "GCP_PORTAL_SERVICE_ACCOUNT")}


def test_production_starts_with_safe_configuration():
    result = manage("check", env={**PRODUCTION_ENV, **GOOGLE})
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", list(GOOGLE))
def test_production_has_no_sandbox_default_for_google(missing):
    env = {**PRODUCTION_ENV, **GOOGLE}
    del env[missing]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert f"Set the {missing} environment variable" in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GCP_PROJECT", "hangar-sandbox"),
        ("GCP_PORTAL_SERVICE_ACCOUNT", "hangar-portal@hangar-sandbox.iam.gserviceaccount.com"),
    ],
)
def test_production_refuses_the_sandbox_identity(name, value):
    result = manage("check", env={**PRODUCTION_ENV, **GOOGLE, name: value})
    assert result.returncode != 0
    assert "sandbox" in result.stderr


@pytest.mark.parametrize(
    "key",
    [
        "short",
        "changeme",
        "a" * 64,
        "django-insecure-" + "k3y_Xz9!Qw2#Lp5$Rt8^Yu1&Io4*As7(Df0)Gh3-Jk6=",
        "secretsecretsecretsecretsecretsecretsecretsecretsecret",
    ],
    ids=["short", "changeme", "one-char", "django-insecure", "secret-repeated"],
)
def test_production_refuses_a_weak_secret_key(key):
    result = manage("check", env={**PRODUCTION_ENV, **GOOGLE, "DJANGO_SECRET_KEY": key})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize("hosts", ["*", "hangar.example.com,*", ".example.com,*"])
def test_production_refuses_any_host(hosts):
    result = manage("check", env={**PRODUCTION_ENV, **GOOGLE, "DJANGO_ALLOWED_HOSTS": hosts})
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr
