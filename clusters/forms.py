"""The form that registers or creates a cluster, shared by the portal's cluster page and the
Django admin. Hangar's project and a region it offers are filled in; what the service
refuses (another project, a zone for Autopilot, a name Hangar knows) is a field error."""

from typing import Any

from django import forms
from django.conf import settings

from clusters.choices import CLUSTER_REGIONS, ReleaseChannel
from clusters.models import Cluster
from clusters.services import cluster_create, cluster_name_errors, cluster_register

REGISTER, CREATE, CREATE_STANDARD = "register", "create", "create-standard"
REGIONS_LIST_ID = "cluster-regions"


class ClusterAddForm(forms.ModelForm):
    mode = forms.ChoiceField(
        choices=[
            (REGISTER, "Register an existing cluster (Hangar reads its endpoint and CA)"),
            (CREATE, "Create a new Autopilot cluster (Hangar owns it and may delete it)"),
            (
                CREATE_STANDARD,
                "Create a new Standard cluster for the Inference Gateway target: GPU node "
                "pools, Gateway API, Managed Prometheus with DCGM (Hangar owns it)",
            ),
        ],
        initial=REGISTER,
    )
    reason = forms.CharField(required=False, max_length=500, widget=forms.Textarea)

    class Meta:
        model = Cluster
        fields = ["mode", "project", "location", "name", "release_channel", "teams", "reason"]
        help_texts = {"release_channel": "Only when creating; create-auto's --release-channel."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        home = settings.GCP["PROJECT"]
        self.fields["project"].initial = home
        self.fields["project"].help_text = f"Hangar deploys into {home}; clusters live there too."
        location = self.fields["location"]
        location.initial = CLUSTER_REGIONS[0]
        location.widget.attrs["list"] = REGIONS_LIST_ID
        location.help_text = (
            "A region Hangar offers GPUs in (" + ", ".join(CLUSTER_REGIONS) + "); a Standard "
            "cluster may also be zonal, e.g. us-central1-a."
        )
        self.regions = CLUSTER_REGIONS
        self.regions_list_id = REGIONS_LIST_ID

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        creating = data.get("mode") in (CREATE, CREATE_STANDARD)
        if creating and not data.get("release_channel"):
            data["release_channel"] = ReleaseChannel.REGULAR
        if not self.errors:
            errors = cluster_name_errors(
                project=data["project"],
                location=data["location"],
                name=data["name"],
                creating=creating,
                autopilot=data.get("mode") != CREATE_STANDARD,
            )
            for field, problems in errors.items():
                for problem in problems:
                    self.add_error(field if field in self.fields else None, problem)
        return data

    def submit(self, by: Any) -> Cluster:
        """Register or create the cluster the valid form describes, through the services."""
        data = self.cleaned_data
        common = {
            "project": data["project"],
            "location": data["location"],
            "name": data["name"],
            "teams": data["teams"],
            "by": by,
            "reason": data.get("reason", ""),
        }
        if data["mode"] in (CREATE, CREATE_STANDARD):
            return cluster_create(
                release_channel=data["release_channel"],
                autopilot=data["mode"] == CREATE,
                **common,
            )
        return cluster_register(**common)


class ClusterTeamsForm(forms.ModelForm):
    reason = forms.CharField(required=False, max_length=500)

    class Meta:
        model = Cluster
        fields = ["teams", "reason"]
        widgets = {"teams": forms.CheckboxSelectMultiple}


class ReasonForm(forms.Form):
    """The reason given with a retry or a removal, bounded as the add form's."""

    reason = forms.CharField(required=False, max_length=500)
