"""What Hangar's metrics endpoint reads of deployments at scrape time (telemetry/scrape.py):
how long their rollout steps took, from the engine's ledger."""

from collections.abc import Iterator
from datetime import timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, OuterRef, Q, Subquery, Sum
from prometheus_client.core import HistogramMetricFamily, Metric

from deployments.choices import OWNER_KIND
from deployments.models import Deployment
from runbook.models import IN_FLIGHT_OUTCOMES, StepRun

# Steps take from a second (an IAM grant) to an hour (a large model's build).
STEP_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)


class RolloutStepCollector:
    """hangar_rollout_step_duration_seconds{target, phase, step, outcome}: every finished
    step run of a deployment's plans, from its start to its end."""

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "hangar_rollout_step_duration_seconds",
            "Rollout steps from start to end, by target, phase, step and outcome.",
            labels=["target", "phase", "step", "outcome"],
        )
        target = Deployment.objects.filter(pk=OuterRef("owner_id")).values("target")[:1]
        took = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
        buckets = {
            f"le_{i}": Count("id", filter=Q(took__lte=timedelta(seconds=bound)))
            for i, bound in enumerate(STEP_BUCKETS)
        }
        rows = (
            StepRun.objects.filter(
                owner_kind=OWNER_KIND, started_at__isnull=False, finished_at__isnull=False
            )
            .exclude(outcome__in=IN_FLIGHT_OUTCOMES)
            .annotate(took=took, target=Subquery(target))
            .values("target", "phase", "step", "outcome")
            .annotate(count=Count("id"), total=Sum("took"), **buckets)
            .order_by()
        )
        for row in rows:
            cumulative = [
                (str(float(bound)), row[f"le_{i}"]) for i, bound in enumerate(STEP_BUCKETS)
            ]
            total: timedelta = row["total"] or timedelta(0)
            family.add_metric(
                [row["target"], row["phase"], row["step"], row["outcome"]],
                [*cumulative, ("+Inf", row["count"])],
                total.total_seconds(),
            )
        yield family
