"""POST /api/v1/estimates/: what a request would cost, on each target, and how it is decided."""

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from deployments.api.money import estimate_out, money, option_out
from deployments.api.responses import EstimateResponseSerializer
from deployments.api.serializers import (
    NewDeploymentRequestSerializer,
    request_schema,
    request_serializer_class,
)
from deployments.services.assessment import deployment_assess
from deployments.services.comparison import target_comparison
from deployments.services.estimates import estimate_for
from deployments.services.request_specs import spec_for_request
from portal.access import team_visible
from portal.api.auth import request_token
from portal.exceptions import ValidationFailed


class _NameAndTeamOptional(serializers.Serializer):
    """An estimate needs neither a name nor a team; with a team it also shows the decision."""

    team = serializers.SlugField(required=False, help_text="Slug of one of your teams.")
    slug = serializers.CharField(required=False, max_length=40)


class EstimateRequestSerializer(_NameAndTeamOptional, NewDeploymentRequestSerializer):
    pass


class EstimateView(APIView):
    @extend_schema(
        summary="Price a request, compare it across targets, and (with a team) preview "
        "its approval",
        request=request_schema(EstimateRequestSerializer, "Estimate"),
        responses={
            200: OpenApiResponse(
                EstimateResponseSerializer,
                description="The estimate (price table version included), the targets side by "
                "side, and with a team, its quota and the approval the request would get.",
            )
        },
    )
    def post(self, request: Request) -> Response:
        incoming = request_serializer_class(request.data, EstimateRequestSerializer)(
            data=request.data
        )
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        team = None
        if data.get("team"):
            team = team_visible(user=request.user, token=request_token(request), slug=data["team"])
        spec, errors = spec_for_request(
            target=incoming.target_def, values=incoming.spec_values(), team=team
        )
        if errors:
            raise ValidationFailed("The settings are not valid; see fields.", fields=errors)
        busy = data["busy_hours_per_day"]
        body: dict[str, Any] = {
            "estimate": estimate_out(
                estimate_for(target=data["target"], spec=spec, busy_hours_per_day=busy).as_json()
            ),
            "comparison": [
                option_out(option.as_json())
                for option in target_comparison(
                    model=spec.model, busy_hours_per_day=busy, chosen=data["target"], spec=spec
                )
            ],
        }
        if team is not None:
            assessment = deployment_assess(
                team=team, target=data["target"], spec=spec, busy_hours_per_day=busy
            )
            body["quota"] = assessment.quota.as_json()
            body["decision"] = {
                "outcome": assessment.decision.outcome.value,
                "reasons": assessment.decision.reasons,
                "projected_month": money(assessment.projected_month),
            }
        return Response(body)
