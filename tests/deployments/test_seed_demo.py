"""`manage.py seed_demo`, which scripts/run calls on every start, keeps demo users signed in.

Django ties each session to the user's password hash; setting the same password again
makes a new hash (a new salt), which signed every demo user out on every restart.
"""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

pytestmark = pytest.mark.django_db

PAGE = reverse("deployments:list")


def _seed(password: str) -> None:
    call_command("seed_demo", password=password, stdout=StringIO())


def test_running_it_again_keeps_demo_users_signed_in(client):
    _seed("demo-password-1")
    assert client.login(username="dev", password="demo-password-1")
    assert client.get(PAGE).status_code == 200

    _seed("demo-password-1")

    assert client.get(PAGE).status_code == 200


def test_a_new_password_is_set_and_ends_the_old_sessions(client):
    _seed("demo-password-1")
    assert client.login(username="dev", password="demo-password-1")

    _seed("demo-password-2")

    response = client.get(PAGE)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert client.login(username="dev", password="demo-password-2")
