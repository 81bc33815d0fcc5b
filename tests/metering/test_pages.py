"""The measured ledger on the pages: estimated, measured and the difference; cost per
million tokens from measured spend and metered tokens of the same days; idle deployments
with what scaling to zero or a smaller shape would have saved at today's prices."""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from deployments.pricing.money import usd
from deployments.services.prices import price_table_active
from deployments.targets.cloud_run_ollama.spec import CloudRunOllamaSpec
from metering.models import SpendDay
from playground.models import UsageRecord
from tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db


def ledger_day(deployment: Any, day: date, seconds: int, measured: str, estimated: str) -> None:
    SpendDay.objects.create(
        deployment=deployment,
        team=deployment.team,
        day=day,
        source="cloud-run-instance-time",
        billed_seconds=Decimal(seconds),
        unit_price=Decimal("0.0003947"),
        price_version="2026-11-22",
        measured=Decimal(measured),
        estimated=Decimal(estimated),
        measured_through=datetime.combine(day, datetime.min.time(), tzinfo=UTC),
        final=True,
        read_at=timezone.now(),
    )


def usage(deployment: Any, day: date, prompt: int, completion: int) -> None:
    record = UsageRecord.objects.create(
        deployment=deployment,
        user=deployment.requested_by,
        source=UsageRecord.Source.PLAYGROUND,
        prompt_tokens=prompt,
        completion_tokens=completion,
    )
    at = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12)
    UsageRecord.objects.filter(pk=record.pk).update(created_at=at)


def shown(html: str, attribute: str, key: str) -> str:
    match = re.search(rf'data-{attribute}="{key}">([^<]+)<', html)
    assert match, f"no {attribute}={key} on the page"
    return match.group(1)


def this_month(day: int) -> date:
    return timezone.now().date().replace(day=day)


def test_cost_per_million_tokens_is_measured_spend_over_metered_tokens(client, team, deployer):
    deployment: Any = DeploymentFactory(team=team, requested_by=deployer, status="ready")
    today = timezone.now().date()
    yesterday = today - timedelta(days=1)
    ledger_day(deployment, yesterday, 2700, "1.07", "0.47")
    ledger_day(deployment, today, 3000, "1.18", "1.26")
    usage(deployment, yesterday, 1200, 800)
    usage(deployment, today, 3000, 1000)
    usage(deployment, today - timedelta(days=5), 10**6, 10**6)  # a day Google did not measure

    client.force_login(deployer)
    html = unescape(
        client.get(reverse("deployments:detail", args=[deployment.pk])).content.decode()
    )

    rows = SpendDay.objects.filter(deployment=deployment)
    measured = sum((r.measured for r in rows), Decimal(0))
    days = {r.day for r in rows}
    records = [r for r in UsageRecord.objects.filter(deployment=deployment)]
    prompt = sum(r.prompt_tokens for r in records if r.created_at.date() in days)
    completion = sum(r.completion_tokens for r in records if r.created_at.date() in days)
    assert shown(html, "token-cost", "input") == usd(measured * 1_000_000 / prompt)
    assert shown(html, "token-cost", "output") == usd(measured * 1_000_000 / completion)
    assert shown(html, "token-cost", "all") == usd(measured * 1_000_000 / (prompt + completion))
    assert shown(html, "token-cost", "input") == "$535.71"  # $2.25 ÷ 4,200 × 10⁶
    if yesterday.month == today.month:
        assert shown(html, "measured", "measured") == "$2.25"
        assert shown(html, "measured", "estimated") == "$1.73"
        assert shown(html, "measured", "difference") == "+$0.52"


def test_the_team_page_ranks_cost_per_token_and_prices_idle_time(client, team, deployer):
    busy: Any = DeploymentFactory(team=team, requested_by=deployer, slug="busy", status="ready")
    big_spec = CloudRunOllamaSpec(model="gemma3-4b", cpu=20, memory_gib=80, min_instances=1)
    idle: Any = DeploymentFactory(
        team=team,
        requested_by=deployer,
        slug="idle-big",
        status="ready",
        region="europe-west4",
        gpu_type="nvidia-rtx-pro-6000",
        spec=big_spec.spec_json(),
    )
    day = timezone.now().date()
    ledger_day(busy, day, 3600, "1.42", "1.00")
    usage(busy, day, 500, 500)
    ledger_day(idle, day, 7200, "5.00", "5.00")

    client.force_login(deployer)
    html = unescape(client.get(reverse("team-detail", args=[team.slug])).content.decode())

    assert html.index(">idle-big<") < html.index(">busy<")  # no tokens: dearest first
    idle_table = html[html.index('id="idle-deployments"') :]
    assert ">busy<" not in idle_table.split("</table>")[0]
    run = price_table_active().data["cloud_run"]
    big = (
        Decimal(run["gpu_per_second"]["nvidia-rtx-pro-6000"]["zonal_redundancy_off"])
        + 20 * Decimal(run["vcpu_per_second"])
        + 80 * Decimal(run["gib_per_second"])
    )
    small = (
        Decimal(run["gpu_per_second"]["nvidia-l4"]["zonal_redundancy_off"])
        + 8 * Decimal(run["vcpu_per_second"])
        + 32 * Decimal(run["gib_per_second"])
    )
    assert usd(7200 * big) in idle_table  # scaled to zero: no idle instance-seconds
    assert usd(7200 * (big - small)) in idle_table  # one L4 instead, every billed second


def test_the_team_page_ranks_every_deployment_by_its_own_cost_per_token(client, team, deployer):
    """Ranked in SQL a page at a time: those with no tokens first (the most measured
    first), then the dearest per million tokens; each row's figures are its measured
    spend over the tokens served on its measured days only."""
    spend = {"cheap": "2.00", "dear": "3.00", "idle-small": "1.00", "idle-large": "4.00"}
    served = {"cheap": (1000, 1000), "dear": (500, 500)}
    day = timezone.now().date()
    for slug, measured in spend.items():
        deployment: Any = DeploymentFactory(
            team=team, requested_by=deployer, slug=slug, status="ready"
        )
        ledger_day(deployment, day, 3600, measured, "1.00")
        if slug in served:
            usage(deployment, day, *served[slug])
            usage(deployment, day - timedelta(days=40), 10**6, 10**6)  # not a measured day

    client.force_login(deployer)
    html = unescape(client.get(reverse("team-detail", args=[team.slug])).content.decode())

    table = html[html.index('id="cost-per-token"') :].split("</table>")[0]
    order = [table.index(f">{slug}<") for slug in ("idle-large", "idle-small", "dear", "cheap")]
    assert order == sorted(order)
    assert usd(Decimal("3.00") * 1_000_000 / 500) in table  # dear, per million input
    assert usd(Decimal("2.00") * 1_000_000 / 1000) in table  # cheap, per million input
    total = sum((Decimal(m) for m in spend.values()), Decimal(0))
    assert usd(total * 1_000_000 / 3000) in html  # the team's, over every token
