"""DRF authentication for team API tokens sent as `Authorization: Bearer hgr_…`."""

from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from portal.models import ApiToken
from portal.tokens import token_matches, token_parse_prefix

# Writing last_used_at on every request would make every API call a write.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode(errors="replace")
        scheme, _, raw = header.partition(" ")
        if scheme != self.keyword or not raw:
            return None
        token = raw.strip()
        prefix = token_parse_prefix(token)
        if prefix is None:
            raise exceptions.AuthenticationFailed("Malformed API token.")
        row = ApiToken.objects.select_related("owner", "team").filter(prefix=prefix).first()
        if row is None or not token_matches(token, row.key_hash):
            raise exceptions.AuthenticationFailed("Invalid API token.")
        if not row.is_usable:
            raise exceptions.AuthenticationFailed("This API token is revoked or expired.")
        if not row.owner.is_active:
            raise exceptions.AuthenticationFailed("The owner of this API token is inactive.")
        now = timezone.now()
        if row.last_used_at is None or now - row.last_used_at > _LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        return row.owner, row

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
