"""Credentials the sandbox issues from its metadata server, and their verification.

Access tokens are opaque random strings remembered as issued. ID tokens are JWTs
signed HS256 with a per-process secret: nothing outside the sandbox needs to verify
them, and the model servers check them exactly as Cloud Run would (signature,
expiry, audience).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

import jwt

ACCESS_TOKEN_LIFETIME = 3599
ID_TOKEN_LIFETIME = 3600
ISSUER = "https://accounts.google.com"


@dataclass(frozen=True)
class IdentityClaims:
    email: str
    audience: str


class InvalidIdToken(Exception):
    """The bearer token is not a valid ID token for this audience."""


class TokenIssuer:
    def __init__(self, service_account: str) -> None:
        self.service_account = service_account
        self._secret = secrets.token_bytes(32)
        self._access_tokens: dict[str, float] = {}

    @property
    def subject(self) -> str:
        # Google uses a stable 21-digit numeric id per service account.
        digest = hashlib.sha256(self.service_account.encode()).hexdigest()
        return "1" + str(int(digest, 16))[:20]

    def issue_access_token(self) -> tuple[str, int]:
        now = time.time()
        # Expired tokens are refused whether remembered or not: forgetting them keeps the
        # issued set (kept across restarts, sandbox/server/snapshot.py) from growing forever.
        self._access_tokens = {t: e for t, e in self._access_tokens.items() if e > now}
        token = "ya29.sandbox-" + secrets.token_urlsafe(48)
        self._access_tokens[token] = now + ACCESS_TOKEN_LIFETIME
        return token, ACCESS_TOKEN_LIFETIME

    def access_token_valid(self, token: str) -> bool:
        expiry = self._access_tokens.get(token)
        return expiry is not None and expiry > time.time()

    def issue_id_token(self, audience: str, full: bool = True) -> str:
        now = int(time.time())
        claims: dict[str, object] = {
            "iss": ISSUER,
            "aud": audience,
            "azp": self.subject,
            "sub": self.subject,
            "iat": now,
            "exp": now + ID_TOKEN_LIFETIME,
        }
        if full:
            claims["email"] = self.service_account
            claims["email_verified"] = True
        return jwt.encode(claims, self._secret, algorithm="HS256", headers={"kid": "sandbox"})

    def verify_id_token(self, token: str, audience: str) -> IdentityClaims:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=audience,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "aud", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidIdToken(str(exc)) from exc
        email = claims.get("email")
        if not isinstance(email, str):
            # Without format=full there is no email, so IAM cannot match the caller.
            email = ""
        return IdentityClaims(email=email, audience=audience)
