"""A 403 is logged once, as one line without a traceback, even with DEBUG's console
handler in play (it used to print each one a second time, traceback and all)."""

import io
import logging

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils.log import configure_logging

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged(settings):
    """The project's logging as a server runs it (DEBUG on); every stream handler of every
    logger writes into the returned buffer instead of its terminal."""
    settings.DEBUG = True
    configure_logging(django_settings.LOGGING_CONFIG, django_settings.LOGGING)
    buffer = io.StringIO()
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(buffer)
    yield buffer
    configure_logging(django_settings.LOGGING_CONFIG, django_settings.LOGGING)


def test_a_403_is_one_line_without_a_traceback(client, deployer, logged):
    client.force_login(deployer)
    assert client.get(reverse("spend")).status_code == 403
    out = logged.getvalue()
    assert out.count("Forbidden (Permission denied): /spend/") == 1
    assert "Traceback" not in out


def test_a_server_error_keeps_its_traceback(logged):
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("django.request").error(
            "Internal Server Error: /x/", exc_info=True, extra={"status_code": 500}
        )
    out = logged.getvalue()
    assert out.count("Internal Server Error: /x/") == 1 and "Traceback" in out
