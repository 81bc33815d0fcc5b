from django.urls import path

from playground import api_views, views

app_name = "playground"

urlpatterns = [
    path("", views.playground_view, name="index"),
    path("api/chat", api_views.chat_view, name="chat"),
    path("api/deployments/<int:pk>/models", api_views.models_view, name="models"),
    path("conversations/export/", views.conversation_export_all_view, name="export_all"),
    path("conversations/<int:pk>/", views.conversation_detail_view, name="conversation"),
    path("conversations/<int:pk>/export/", views.conversation_export_view, name="export"),
    path("conversations/<int:pk>/delete/", views.conversation_delete_view, name="delete"),
]
