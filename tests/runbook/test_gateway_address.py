"""A Gateway's status address becomes the endpoint only when it is an IP address of the
VPC (an internal Gateway) or a public one (an external Gateway); anything else is named."""

import pytest

from runbook.executors.kube_endpoint import checked_gateway_address, gateway_address_problem

VPC = ["10.128.0.0/9"]


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("127.0.0.1:6379", "not an IP address"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("localhost:8950", "not an IP address"),
        ("metadata.google.internal", "not an IP address"),
        ("169.254.169.254", "metadata server"),
        ("169.254.1.1", "link-local"),
        ("user:pw@10.128.0.9", "not an IP address"),
        ("10.128.0.9/v1/chat", "not an IP address"),
        ("10.128.0.9:80", "not an IP address"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - a value checked, not bound
        ("224.0.0.1", "multicast"),
        ("192.168.1.10", "outside the VPC's ranges (10.128.0.0/9)"),
        ("34.1.2.3", "outside the VPC's ranges"),
        ("", "not an IP address"),
    ],
)
def test_an_internal_gateway_address_outside_the_vpc_is_refused_by_name(value, said):
    problem = gateway_address_problem(value, vpc_ranges=VPC, external=False)
    assert said in problem
    assert repr(value) in problem


def test_an_address_in_the_vpc_is_taken():
    assert gateway_address_problem("10.128.7.9", vpc_ranges=VPC, external=False) == ""


def test_an_external_gateway_takes_a_public_address_only():
    assert gateway_address_problem("34.1.2.3", vpc_ranges=VPC, external=True) == ""
    assert "not a public address" in gateway_address_problem(
        "10.128.7.9", vpc_ranges=VPC, external=True
    )
    assert "metadata server" in gateway_address_problem(
        "169.254.169.254", vpc_ranges=VPC, external=True
    )


def test_the_vpc_ranges_are_configured(settings):
    settings.GCP = {**settings.GCP, "VPC_RANGES": ["192.168.0.0/16"]}
    assert checked_gateway_address("192.168.1.10", external=False) == ""
    assert "outside" in checked_gateway_address("10.128.7.9", external=False)
