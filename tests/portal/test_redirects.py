"""`next=` sends people only to this site."""

import pytest

pytestmark = pytest.mark.django_db

OFF_SITE = [
    "",
    "https://evil.example.net/",
    "//evil.example.net/",
    "/\\evil.example.net/",
    "https:evil.example.net",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_in_never_redirects_off_site(client, deployer, target):
    deployer.set_password("pw")
    deployer.save()
    response = client.post(
        f"/login/?next={target}", {"username": deployer.username, "password": "pw", "next": target}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/"), response["Location"]
    assert not response["Location"].startswith(("//", "/\\"))


@pytest.mark.parametrize("target", OFF_SITE)
def test_marking_notifications_read_never_redirects_off_site(client, deployer, target):
    client.force_login(deployer)
    response = client.post("/notifications/read/", {"next": target})
    assert response.status_code == 302
    assert response["Location"].startswith("/") and not response["Location"].startswith(
        ("//", "/\\")
    )


def test_marking_notifications_read_returns_to_the_page_it_came_from(client, deployer):
    client.force_login(deployer)
    response = client.post("/notifications/read/", {"next": "/teams/"})
    assert response["Location"] == "/teams/"


def test_a_relative_next_stays_on_site_and_is_no_5xx(client, deployer):
    client.force_login(deployer)
    response = client.post("/notifications/read/", {"next": "teams"})
    assert response.status_code == 302 and "//" not in response["Location"]
