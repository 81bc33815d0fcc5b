from django.urls import path

app_name = "deployments"

urlpatterns: list = [
    # Pages are added by deployments/views.py: list, new, detail, timeline, approvals.
]
