"""REST endpoints: parse, call one service or selector, render."""

from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from deployments import selectors, services
from deployments.api.responses import PlanSerializer
from deployments.api.serializers import (
    ApproveSerializer,
    DeploymentEventSerializer,
    DeploymentSerializer,
    ReasonSerializer,
    request_schema,
    request_serializer_class,
)
from deployments.choices import Phase
from deployments.filters import DeploymentFilterSet
from deployments.models import Deployment
from deployments.plans import plan_for
from deployments.services.decisions import require_approval_token
from portal.access import team_visible
from portal.api.auth import request_token
from portal.exceptions import NotFound


class DeploymentViewSet(viewsets.GenericViewSet):
    serializer_class = DeploymentSerializer
    queryset = Deployment.objects.none()  # for the schema; reads go through selectors
    approval_token_actions = ("approve", "reject")
    filter_backends = [DjangoFilterBackend]
    filterset_class = DeploymentFilterSet

    def get_queryset(self) -> Any:
        return selectors.deployment_list(user=self.request.user, token=request_token(self.request))

    def _get(self, pk: str) -> Deployment:
        return selectors.deployment_get(
            user=self.request.user, pk=_deployment_id(pk), token=request_token(self.request)
        )

    def _get_to_decide(self, pk: str) -> Deployment:
        """An approval token belongs to no team; it finds requests as its owner does."""
        require_approval_token(request_token(self.request))
        return selectors.deployment_get(user=self.request.user, pk=_deployment_id(pk))

    @extend_schema(summary="List deployments (filter by status, team, target)")
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(DeploymentSerializer(page, many=True).data)

    @extend_schema(summary="One deployment")
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(DeploymentSerializer(self._get(pk)).data)

    @extend_schema(
        summary="Request a deployment (one body per target, told apart by `target`)",
        request=request_schema(),
        responses={201: DeploymentSerializer},
    )
    def create(self, request: Request) -> Response:
        incoming = request_serializer_class(request.data)(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        token = request_token(request)
        team = team_visible(user=request.user, token=token, slug=data["team"])
        deployment = services.deployment_request(
            team=team,
            requested_by=request.user,
            token=token,
            target=data["target"],
            slug=data["slug"],
            values=incoming.spec_values(),
            justification=data["justification"],
            busy_hours_per_day=data["busy_hours_per_day"],
            expires_in_hours=data["expires_in_hours"],
        )
        return Response(DeploymentSerializer(deployment).data, status=201)

    @extend_schema(
        summary="Approve a pending request (platform admins)",
        request=ApproveSerializer,
        responses={200: DeploymentSerializer},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        incoming = ApproveSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        deployment = services.deployment_approve(
            deployment=self._get_to_decide(pk),
            by=request.user,
            token=request_token(request),
            reason=incoming.validated_data["reason"],
            external_gateway=incoming.validated_data["external_gateway"],
        )
        return Response(DeploymentSerializer(deployment).data)

    @extend_schema(
        summary="Reject a pending request (platform admins)",
        request=ReasonSerializer,
        responses={200: DeploymentSerializer},
    )
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        reason = self._reason(request)
        deployment = services.deployment_reject(
            deployment=self._get_to_decide(pk),
            by=request.user,
            token=request_token(request),
            reason=reason,
        )
        return Response(DeploymentSerializer(deployment).data)

    @extend_schema(
        summary="Tear down (or withdraw a pending request)",
        request=ReasonSerializer,
        responses={200: DeploymentSerializer},
    )
    @action(detail=True, methods=["post"], url_path="tear-down")
    def tear_down(self, request: Request, pk: str) -> Response:
        deployment = services.deployment_tear_down(
            deployment=self._get(pk),
            by=request.user,
            token=request_token(request),
            reason=self._reason(request),
        )
        return Response(DeploymentSerializer(deployment).data)

    @extend_schema(
        summary="Retry a failed deployment from the step that failed",
        request=None,
        responses={200: DeploymentSerializer},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str) -> Response:
        deployment = services.deployment_retry(
            deployment=self._get(pk), by=request.user, token=request_token(request)
        )
        return Response(DeploymentSerializer(deployment).data)

    @extend_schema(
        summary="The plan: what the rollout (or tear down) does, step by step",
        responses={
            200: OpenApiResponse(
                PlanSerializer, description="The plan: ordered steps, each an exact API request."
            )
        },
    )
    @action(detail=True, methods=["get"])
    def plan(self, request: Request, pk: str) -> Response:
        field = serializers.ChoiceField(choices=Phase.choices, default=Phase.DEPLOY)
        phase = Phase(field.run_validation(request.query_params.get("phase", Phase.DEPLOY)))
        return Response(plan_for(self._get(pk), phase).as_dict())

    @extend_schema(
        summary="The timeline: state changes and rollout steps, oldest first (paginated)",
        responses={200: DeploymentEventSerializer(many=True)},
        filters=False,
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def events(self, request: Request, pk: str) -> Response:
        # Two tables make the timeline: the page is cut over their union in SQL, then only
        # its rows are read.
        deployment = self._get(pk)
        keys = self.paginate_queryset(selectors.deployment_timeline_keys(deployment=deployment))
        rows = selectors.deployment_timeline_rows(deployment=deployment, keys=keys or [])
        return self.get_paginated_response(DeploymentEventSerializer(rows, many=True).data)

    @staticmethod
    def _reason(request: Request) -> str:
        incoming = ReasonSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        return str(incoming.validated_data["reason"])


def _deployment_id(pk: str) -> int:
    """The router takes any path segment; only digits can name a deployment."""
    if not (pk.isascii() and pk.isdigit()):
        raise NotFound(f"No deployment {pk[:40]!r}.")
    return int(pk)
