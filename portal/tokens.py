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


_PREFIX_CHARS = frozenset("0123456789abcdef")
_PREFIX_LENGTH = 12  # token_hex(6)


def token_parse_prefix(token: str) -> str | None:
    """The prefix of a well-formed token; None for anything else, before it reaches a query."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[2]:
        return None
    prefix = parts[1]
    if len(prefix) != _PREFIX_LENGTH or not _PREFIX_CHARS.issuperset(prefix):
        return None
    return prefix


def token_matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(token_hash(token), stored_hash)
