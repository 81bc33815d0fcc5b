"""The request forms: shapes, types and bounds only, derived from each target's spec.

Whether a request can run (VRAM, regions, concurrency against parallel slots...) is
decided once, in the spec's errors(), which deployment_request() calls; the view puts
its messages next to these fields.
"""

from functools import cache
from typing import Any, ClassVar, cast

from django import forms
from django.db.models import QuerySet

from deployments.services.offers import offer_for_user
from deployments.services.requests import DEFAULT_BUSY_HOURS, MAX_EXPIRY_HOURS
from deployments.targets import UnknownTarget, default_target, target_choices, target_get
from deployments.targets.base import TargetDef
from deployments.targets.fields import declarations, declared, defaults, form_fields
from portal.access import teams_where_role
from portal.models import Role, Team


class GovernanceFieldsForm(forms.Form):
    """What every request form asks besides the target's settings: why, how busy, how long."""

    justification = forms.CharField(
        required=False,
        max_length=4000,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": "What is it for, and for how long?"}
        ),
        help_text="Shown to the platform admin who approves the GPU spend.",
    )
    busy_hours_per_day = forms.DecimalField(
        label="Busy hours a day",
        required=False,
        initial=DEFAULT_BUSY_HOURS,
        min_value=0,
        max_value=24,
        decimal_places=1,
        help_text="Hours a day the service runs at max instances; the monthly estimate "
        "counts min instances for the rest.",
    )
    expires_in_hours = forms.IntegerField(
        label="Expires after (hours)",
        required=False,
        min_value=1,
        max_value=MAX_EXPIRY_HOURS,
        help_text="Torn down after this long (warned a day before). Empty: the team's default.",
    )

    def governance_values(self) -> dict[str, Any]:
        return {
            "justification": self.cleaned_data.get("justification", ""),
            "busy_hours_per_day": self.cleaned_data.get("busy_hours_per_day") or DEFAULT_BUSY_HOURS,
            "expires_in_hours": self.cleaned_data.get("expires_in_hours"),
        }


class DeploymentRequestForm(GovernanceFieldsForm):
    """What every request asks: the team, the name and the target. Each target's form adds
    the fields its spec declares (see request_form_class)."""

    target_def: ClassVar[TargetDef]

    team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        empty_label=None,
        help_text="Teams where you are a deployer or team admin.",
    )
    slug = forms.CharField(
        label="Name",
        max_length=40,
        help_text="Names the deployment's resources in Google Cloud: lowercase letters, "
        "digits, hyphens.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    # Chosen with the target switch above the form; the page carries it along.
    target = forms.ChoiceField(choices=target_choices, widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        target = self.target_def
        initial = {
            **defaults(target.spec_class),
            "model": target.initial_model,
            "target": target.name,
        }
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        if (named := target.spec_class.NAME_FROM_SLUG) and (
            declaration := declared(target.spec_class, named)
        ):
            self.fields["slug"].help_text = (
                f"{self.fields['slug'].help_text} Also the {declaration.label.lower()}: "
                f"{declaration.help}"
            )
        team_field = cast(forms.ModelChoiceField, self.fields["team"])
        team_field.queryset = requesting_teams(user=user)
        offer = None  # what the user's teams may use, read once if a field offers it
        for name, declaration, _ in declarations(target.spec_class):
            if declaration.form_choices is not None:
                offer = offer or offer_for_user(user=user)
                offered = [("", "Choose…"), *declaration.form_choices(offer)]
                cast(forms.TypedChoiceField, self.fields[name]).choices = offered

    def service_values(self) -> dict[str, Any]:
        """The spec values, as deployment_request(values=...) takes them."""
        names = self.target_def.spec_class.field_names()
        values = {name: self.cleaned_data[name] for name in names if name in self.cleaned_data}
        if (named := self.target_def.spec_class.NAME_FROM_SLUG) and self.cleaned_data.get("slug"):
            values[named] = self.cleaned_data["slug"]
        return values

    def add_service_errors(self, fields_errors: dict[str, list[str]], message: str) -> None:
        """Put a service's ValidationFailed messages next to the fields they are about."""
        named = self.target_def.spec_class.NAME_FROM_SLUG
        for field, messages in fields_errors.items():
            shown_on = "slug" if named and field == named else field
            for text in messages:
                self.add_error(shown_on if shown_on in self.fields else None, text)
        if not fields_errors:
            self.add_error(None, message)


@cache
def _form_class(target: TargetDef) -> type[DeploymentRequestForm]:
    fields: dict[str, Any] = form_fields(target.spec_class)
    if target.spec_class.NAME_FROM_SLUG:  # asked once, as the Name
        fields[target.spec_class.NAME_FROM_SLUG] = None
    name = "".join(part.title() for part in target.name.split("-")) + "RequestForm"
    return type(name, (DeploymentRequestForm,), {"target_def": target, **fields})


def request_form_class(target: str) -> type[DeploymentRequestForm]:
    """The request form for a target (the default target's for an unknown one)."""
    try:
        return _form_class(target_get(target))
    except UnknownTarget:
        return _form_class(default_target())


def requesting_teams(*, user: Any) -> QuerySet[Team]:
    """Teams the user may request in; deployment_request() checks it again."""
    return teams_where_role(user=user, role=Role.DEPLOYER)
