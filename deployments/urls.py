from django.urls import path

from deployments import views, views_estimate, views_quotas

app_name = "deployments"

urlpatterns = [
    path("", views.deployment_list_view, name="list"),
    path("new/", views.deployment_new_view, name="new"),
    path("estimate/", views_estimate.deployment_estimate_view, name="estimate"),
    path("approvals/", views.deployment_approvals_view, name="approvals"),
    path("quotas/", views_quotas.quotas_view, name="quotas"),
    path("<int:pk>/", views.deployment_detail_view, name="detail"),
    path("<int:pk>/timeline/", views.deployment_timeline_view, name="timeline"),
    path("<int:pk>/logs/", views.deployment_logs_view, name="logs"),
    path("<int:pk>/approve/", views.deployment_approve_view, name="approve"),
    path("<int:pk>/reject/", views.deployment_reject_view, name="reject"),
    path("<int:pk>/tear-down/", views.deployment_tear_down_view, name="tear_down"),
    path("<int:pk>/retry/", views.deployment_retry_view, name="retry"),
]
