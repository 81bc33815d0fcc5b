from django.urls import path

from portal import views_approval_tokens, views_oversight, views_teams
from portal.views_hf import team_hf_token_view

urlpatterns = [
    path("teams/", views_teams.team_list_view, name="team-list"),
    path("teams/<slug:slug>/", views_teams.team_detail_view, name="team-detail"),
    path("teams/<slug:slug>/tokens/", views_teams.team_token_create_view, name="team-token-create"),
    path(
        "teams/<slug:slug>/tokens/<int:pk>/revoke/",
        views_teams.team_token_revoke_view,
        name="team-token-revoke",
    ),
    path("teams/<slug:slug>/hugging-face/", team_hf_token_view, name="team-hf-token"),
    path("approval-tokens/", views_approval_tokens.approval_tokens_view, name="approval-tokens"),
    path(
        "approval-tokens/<int:pk>/revoke/",
        views_approval_tokens.approval_token_revoke_view,
        name="approval-token-revoke",
    ),
    path("audit/", views_oversight.audit_view, name="audit"),
    path("notifications/", views_oversight.notifications_view, name="notifications"),
    path(
        "notifications/count/",
        views_oversight.notifications_count_view,
        name="notifications-count",
    ),
    path("notifications/read/", views_oversight.notifications_read_view, name="notifications-read"),
]
