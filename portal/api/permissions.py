"""What a token's scope lets it reach: an approval token reaches the decision actions and
nothing else, so a leaked one cannot read, request or tear down anything."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from portal.models import ApiToken, TokenScope


class TokenScopeAllows(BasePermission):
    """Views list the actions an approval token may call in `approval_token_actions`."""

    message = "An approval token only approves or rejects requests."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken) or token.scope == TokenScope.TEAM:
            return True
        return getattr(view, "action", None) in getattr(view, "approval_token_actions", ())
