from django.urls import path

from clusters import views

app_name = "clusters"

urlpatterns = [
    path("", views.cluster_list_view, name="list"),
    path("new/", views.cluster_new_view, name="new"),
    path("<int:pk>/", views.cluster_detail_view, name="detail"),
    path("<int:pk>/retry/", views.cluster_retry_view, name="retry"),
    path("<int:pk>/remove/", views.cluster_remove_view, name="remove"),
]
