"""An internal Gateway is reached from inside its VPC: no credential, and through the VPC's
HTTP proxy when one is configured (the sandbox), only for addresses inside the VPC."""

import pytest

from deployments.targets.endpoint import Credential
from gcp.endpoint_credentials import (
    upstream_headers_now,
    upstream_trust_now,
    vpc_proxy_for,
)

PROXY = "http://127.0.0.1:9"
PUBLIC = "http://127.0.0.1:10"


@pytest.fixture
def proxied(settings):
    settings.GCP = {**settings.GCP, "VPC_HTTP_PROXY": PROXY, "PUBLIC_HTTP_PROXY": ""}


def test_a_gateway_gets_no_credential_and_no_ca_of_its_own():
    url = "http://10.128.0.7"
    assert upstream_headers_now(credential=Credential.GKE_GATEWAY_IN_VPC, endpoint_url=url) == {}
    assert upstream_trust_now(credential=Credential.GKE_GATEWAY_IN_VPC, endpoint_url=url) == ""


@pytest.mark.usefixtures("proxied")
@pytest.mark.parametrize(
    "url", ["http://10.128.0.7", "http://10.128.0.7:80/v1/models", "http://192.168.3.4"]
)
def test_a_vpc_address_goes_through_the_proxy(url):
    assert vpc_proxy_for(url) == PROXY


@pytest.mark.usefixtures("proxied")
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000",
        "https://svc-abc.a.run.app",
        "https://34.1.2.3",
        "http://[::1]:80",
        "not a url",
    ],
)
def test_anything_else_never_does(url):
    assert vpc_proxy_for(url) is None


def test_without_a_proxy_nothing_is_proxied(settings):
    settings.GCP = {**settings.GCP, "VPC_HTTP_PROXY": ""}
    assert vpc_proxy_for("http://10.128.0.7") is None


def test_a_public_address_goes_through_the_public_proxy_when_one_is_set(settings):
    # The sandbox plays the internet for the public addresses it gives external Gateways.
    settings.GCP = {**settings.GCP, "VPC_HTTP_PROXY": PROXY, "PUBLIC_HTTP_PROXY": PUBLIC}
    assert vpc_proxy_for("http://34.1.2.3") == PUBLIC
    assert vpc_proxy_for("http://10.128.0.7") == PROXY
    assert vpc_proxy_for("https://svc-abc.a.run.app") is None  # names resolve as usual
    assert vpc_proxy_for("http://127.0.0.1:8000") is None
