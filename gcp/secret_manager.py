"""Secret Manager: the secrets that hold teams' Hugging Face tokens, and who may read them.

A token passes through here once, on its way into a new secret version; nothing in
this module logs, returns or raises with it.
"""

from typing import Any

import google_crc32c
from google.api_core import exceptions as gexc
from google.cloud import secretmanager_v1

from gcp.clients import NO_RETRY, call_timeout, make_client
from gcp.iam_policy import read_modify_write, rpc_policy_io


def _client() -> Any:
    return make_client(secretmanager_v1.SecretManagerServiceClient)


def ensure_secret(*, name: str, labels: dict[str, str]) -> bool:
    """Create the secret (automatic replication) unless it exists; True if created."""
    parent, _, secret_id = name.rpartition("/secrets/")
    secret = secretmanager_v1.Secret(
        replication=secretmanager_v1.Replication(
            automatic=secretmanager_v1.Replication.Automatic()
        ),
        labels=labels,
    )
    try:
        _client().create_secret(
            parent=parent,
            secret_id=secret_id,
            secret=secret,
            retry=NO_RETRY,
            timeout=call_timeout(),
        )
    except (gexc.AlreadyExists, gexc.Conflict):  # over REST, ALREADY_EXISTS arrives as a 409
        return False
    return True


def delete_secret(*, name: str) -> bool:
    """Delete the secret and every version of it; False if it was already gone."""
    try:
        _client().delete_secret(name=name, retry=NO_RETRY, timeout=call_timeout())
    except gexc.NotFound:
        return False
    return True


def add_version(*, secret: str, data: bytes) -> str:
    """Store `data` as the secret's newest version; returns the version's name."""
    checksum = int(google_crc32c.value(data))
    version = _client().add_secret_version(
        parent=secret,
        payload=secretmanager_v1.SecretPayload(data=data, data_crc32c=checksum),
        retry=NO_RETRY,
        timeout=call_timeout(),
    )
    return str(version.name)


def grant(*, name: str, member: str, role: str) -> bool:
    """Give `member` `role` on the secret; True if the policy had to change."""
    read, write = rpc_policy_io(_client(), name)
    return read_modify_write(read, write, role=role, add=[member])


def revoke(*, name: str, member: str, role: str) -> bool:
    """Take `role` away from `member`; False if it was not there or the secret is gone.

    A conditional grant of the same role to `member` is someone else's and stays.
    """
    read, write = rpc_policy_io(_client(), name)
    try:
        return read_modify_write(read, write, role=role, remove=[member])
    except gexc.NotFound:
        return False


def access_latest(*, secret: str) -> bytes:
    """The secret's latest version's data, checked against its CRC32C. The caller passes it
    straight to where it is needed and keeps it out of messages and records."""
    response = _client().access_secret_version(
        name=f"{secret}/versions/latest", retry=NO_RETRY, timeout=call_timeout()
    )
    data = bytes(response.payload.data)
    if response.payload.data_crc32c and int(google_crc32c.value(data)) != int(
        response.payload.data_crc32c
    ):
        raise gexc.DataLoss(f"The latest version of {secret} arrived corrupted (CRC32C).")
    return data
