"""What the deployment pages show: ids as names with links, an unset setting as "not set",
a price range with equal ends as one figure, a logs panel that does not say nothing ran
after steps ran, and a torn-down deployment's playground refusal that says so."""

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from clusters.models import Cluster
from deployments.choices import Status
from deployments.pricing.money import usd_range
from deployments.targets.cloud_run_vllm.spec import CloudRunVllmSpec
from deployments.targets.gke_inference_gateway_adapter.spec import GatewayAdapterSpec
from portal.exceptions import InvalidTransition
from tests.deployments.targets.test_gke_inference_gateway_adapter_target import base_deployment
from tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db


def test_a_range_with_equal_ends_is_one_figure() -> None:
    assert usd_range(Decimal("88.585"), Decimal("88.59")) == "$88.59"
    assert usd_range(Decimal("1.2"), Decimal("3.4")) == "$1.20–$3.40"


def test_the_cluster_and_the_base_are_shown_by_name_with_links(
    client: Any, team: Any, deployer: Any
) -> None:
    cluster = Cluster.objects.create(
        project="hangar-sandbox", location="us-central1", name="lora-std", status="ready"
    )
    base = base_deployment(team)
    base.spec = {**base.spec, "cluster": cluster.pk}
    base.save()
    adapter_spec = GatewayAdapterSpec(base=base.pk)
    adapter: Any = DeploymentFactory(
        team=team,
        slug="sql-lora",
        target="gke-inference-gateway-adapter",
        model=adapter_spec.model,
        spec=adapter_spec.spec_json(),
        status=Status.READY,
    )
    client.force_login(deployer)

    base_page = client.get(reverse("deployments:detail", args=[base.pk])).content.decode()
    cluster_link = f'<a href="{reverse("clusters:detail", args=[cluster.pk])}">lora-std</a>'
    assert cluster_link in base_page

    adapter_page = client.get(reverse("deployments:detail", args=[adapter.pk])).content.decode()
    assert f'<a href="{reverse("deployments:detail", args=[base.pk])}">llama-lora</a>' in (
        adapter_page
    )


def test_an_unset_setting_reads_not_set(client: Any, team: Any, deployer: Any) -> None:
    spec = CloudRunVllmSpec(model="gemma-3-1b-it")
    assert spec.max_model_len is None
    deployment: Any = DeploymentFactory(
        team=team, target="cloud-run-vllm", model=spec.model, spec=spec.spec_json()
    )
    client.force_login(deployer)
    html = client.get(reverse("deployments:detail", args=[deployment.pk])).content.decode()
    assert "<strong>None</strong>" not in html
    assert "<strong>not set</strong>" in html


def test_the_logs_panel_of_a_target_without_logs_does_not_say_nothing_ran(
    client: Any, team: Any, deployer: Any
) -> None:
    client.force_login(deployer)
    ready = base_deployment(team)
    html = client.get(reverse("deployments:logs", args=[ready.pk])).content.decode()
    assert "Nothing has run yet" not in html and "data-no-log-sources" in html

    ready.status = Status.TORN_DOWN  # frees its slug for the next one
    ready.save()
    waiting = base_deployment(team, status=Status.PENDING_APPROVAL)
    waiting_html = client.get(reverse("deployments:logs", args=[waiting.pk])).content.decode()
    assert "Nothing has run yet" in waiting_html


def test_a_torn_down_deployment_has_no_endpoint_because_it_was_torn_down(team: Any) -> None:
    from playground.access import _ready

    gone: Any = DeploymentFactory(team=team, slug="old", status=Status.TORN_DOWN)
    with pytest.raises(InvalidTransition, match="old was torn down"):
        _ready(gone.pk, gone)
