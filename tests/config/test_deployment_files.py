"""Production settings pass Django's deploy checks; compose describes the whole system."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "T3st-only_7Qx9-vPz2-Lm8R-k4Hs-W1nB-c6Dy-e0Gu-j5Fa-NoDefault",
    "DJANGO_ALLOWED_HOSTS": "hangar.example.com",
    "DATABASE_URL": "postgres://hangar@127.0.0.1:5432/hangar",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "GCP_PROJECT": "acme-llm-prod",
    "GCP_PORTAL_SERVICE_ACCOUNT": "hangar-portal@acme-llm-prod.iam.gserviceaccount.com",
}


def manage(*args, env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_its_secret():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "Set the DJANGO_SECRET_KEY environment variable" in result.stderr


def test_compose_runs_every_part_from_one_image():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat", "sandbox"}
    portal_parts = ["web", "worker", "beat", "sandbox"]
    assert {services[name]["image"] for name in portal_parts} == {"hangar-portal"}
    assert {services[name]["build"] for name in portal_parts} == {"."}
    assert services["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]
    assert services["sandbox"]["command"][:3] == ["python", "-m", "sandbox"]
    assert "scripts/web" in services["web"]["command"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.count("FROM ") == 2
    assert 'CMD ["scripts/web"]' in dockerfile


def test_the_web_command_starts_the_worker_processes_it_is_told(tmp_path):
    """scripts/web runs WEB_CONCURRENCY uvicorn worker processes (default: one per core)."""
    import socket

    import requests

    from tests.processes import start_server, stop

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "web.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "WEB_CONCURRENCY": "2",
        "PYTHON": sys.executable,
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    web = start_server(
        [str(ROOT / "scripts" / "web"), "--log-level", "info"],
        log=log,
        ready=lambda: log.read_text().count("Application startup complete") >= 2,
        what="scripts/web",
        timeout=60,
        group=True,  # the parent and its worker processes
        cwd=ROOT,
        env=env,
    )
    try:
        assert requests.get(f"http://127.0.0.1:{port}/login/", timeout=10).status_code == 200
    finally:
        stop(web, group=True, timeout=30)
    text = log.read_text()
    assert "Started parent process" in text
    assert text.count("Started server process") == 2
