from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from metering.views import server_metrics_view, spend_view
from playground.api_views import openai_view
from portal.api.not_found import api_not_found
from portal.views_metrics import metrics_view

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="deployments:list", permanent=False)),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("deployments/", include("deployments.urls")),
    path(
        "deployments/<int:pk>/server-metrics/",
        server_metrics_view,
        name="metering-server-metrics",
    ),
    path("", include("portal.urls")),
    path("clusters/", include("clusters.urls")),
    path("spend/", spend_view, name="spend"),
    path("playground/", include("playground.urls")),
    # Before the API include: the OpenAI-compatible passthrough other platforms call.
    re_path(
        r"^api/v1/deployments/(?P<pk>\d+)/openai/v1/(?P<route>chat/completions|completions|models)$",
        openai_view,
        name="playground-openai",
    ),
    path("api/v1/", include("deployments.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^api/(?P<rest>.*)$", api_not_found),
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),
]
