from django.urls import path
from rest_framework.routers import DefaultRouter

from deployments.api.estimates import EstimateView
from deployments.api.views import DeploymentViewSet

router = DefaultRouter()
router.register("deployments", DeploymentViewSet, basename="deployment")

urlpatterns = [path("estimates/", EstimateView.as_view(), name="estimate"), *router.urls]
