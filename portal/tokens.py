"""API token format and hashing: `hgr_<prefix>_<secret>`; only its SHA-256 is kept."""

import hashlib
import hmac
import secrets

TOKEN_PREFIX = "hgr"  # noqa: S105  (a public marker, not a secret)


def token_generate() -> tuple[str, str, str]:
    """Return (full token shown once, prefix stored in clear, hash stored)."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = f"{TOKEN_PREFIX}_{prefix}_{secret}"
    return token, prefix, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_parse_prefix(token: str) -> str | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


def token_matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(token_hash(token), stored_hash)
