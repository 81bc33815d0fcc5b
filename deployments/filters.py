"""One FilterSet for the deployments list: the HTML page and the API filter the same way."""

from typing import Any

import django_filters
from django.db.models import QuerySet

from deployments.choices import Status
from deployments.models import Deployment
from deployments.targets import target_choices


class DeploymentFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=Status.choices, help_text="One or more statuses (repeat the parameter)."
    )
    team = django_filters.CharFilter(
        field_name="team__slug", max_length=50, help_text="A team's slug."
    )
    target = django_filters.ChoiceFilter(choices=target_choices(), help_text="A target's name.")

    class Meta:
        model = Deployment
        fields = ["status", "team", "target"]


def deployment_filter(
    *, data: Any, queryset: QuerySet[Deployment], hide_torn_down: bool = False
) -> DeploymentFilterSet:
    """The filtered list; with `hide_torn_down`, torn-down rows are left out unless a
    status is asked for (the page's default view)."""
    if hide_torn_down and not data.get("status"):
        queryset = queryset.exclude(status=Status.TORN_DOWN)
    return DeploymentFilterSet(data=data, queryset=queryset)
