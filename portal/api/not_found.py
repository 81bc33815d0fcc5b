"""Any /api/ path that names nothing answers in the API's error shape, not an HTML page."""

from django.http import HttpRequest, JsonResponse


def api_not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    body = {"code": "not_found", "message": f"No API resource at {request.path[:200]}."}
    return JsonResponse({"error": body}, status=404)
