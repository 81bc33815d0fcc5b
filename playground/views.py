"""The playground page and the conversation pages: parse, call a selector or service, render."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from playground.models import Conversation
from playground.selectors import (
    chat_targets,
    conversation_export,
    conversation_get,
    conversation_list,
    conversation_open,
)
from portal.exceptions import NotFound


def _conversation(request: HttpRequest, pk: int) -> Conversation:
    try:
        return conversation_get(user=request.user, pk=pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc


@login_required
@require_GET
def playground_view(request: HttpRequest) -> HttpResponse:
    targets = list(chat_targets(user=request.user))
    endpoints = [
        {"id": d.pk, "slug": d.slug, "team": d.team.name, "target": d.get_target_display()}
        for d in targets
    ]
    context = {
        "endpoints": endpoints,
        "conversations": conversation_list(user=request.user)[:50],
        "selected": request.GET.get("deployment", ""),
    }
    return render(request, "playground/index.html", context)


@login_required
@require_GET
def conversation_detail_view(request: HttpRequest, pk: int) -> JsonResponse:
    conversation = _conversation(request, pk)
    return JsonResponse(conversation_open(conversation=conversation, user=request.user))


@login_required
@require_GET
def conversation_export_view(request: HttpRequest, pk: int) -> HttpResponse:
    data = conversation_export(conversation=_conversation(request, pk))
    response = HttpResponse(json.dumps(data, indent=2), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="conversation-{pk}.json"'
    return response


@login_required
@require_GET
def conversation_export_all_view(request: HttpRequest) -> HttpResponse:
    data = [
        conversation_export(conversation=c)
        for c in conversation_list(user=request.user).prefetch_related("messages")
    ]
    response = HttpResponse(json.dumps(data, indent=2), content_type="application/json")
    response["Content-Disposition"] = 'attachment; filename="conversations.json"'
    return response


@login_required
@require_POST
def conversation_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = _conversation(request, pk)
    conversation.delete()
    messages.success(request, f"Deleted “{conversation.title}”.")
    return redirect("playground:index")
