"""IAM Admin v1: service accounts (create, get, delete), as the IAM REST API serves them."""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any

from google.cloud import iam_admin_v1 as ia
from google.protobuf import empty_pb2
from google.protobuf.message import Message

from sandbox.core import errors
from sandbox.core.routing import ApiCall, Handler, Route

ServiceAccount = ia.ServiceAccount.pb()
ACCOUNT_ID = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")


class AccountStore:
    def __init__(self) -> None:
        self.accounts: dict[str, Message] = {}  # by email
        self.created: dict[str, float] = {}  # when, for eventual consistency (act_as.py)

    def clear(self) -> None:
        self.accounts.clear()
        self.created.clear()

    def exists(self, email: str) -> bool:
        return email in self.accounts

    def snapshot(self) -> list[dict[str, object]]:
        from sandbox.core.validation import to_json

        return [to_json(a) for a in self.accounts.values()]


def _email(call: ApiCall, name: str) -> str:
    """`projects/P/serviceAccounts/EMAIL` (P may be `-`) to the email it names."""
    ident = name.rsplit("/serviceAccounts/", 1)[-1]
    if "@" in ident:
        return ident
    for email, account in call.state.store(AccountStore).accounts.items():
        if account.unique_id == ident:
            return email
    return ident


def create(call: ApiCall) -> Message:
    project = call.fields["name"].split("/")[1]
    request = call.body(ia.CreateServiceAccountRequest.pb()())
    account_id = request.account_id
    if not (6 <= len(account_id) <= 30 and ACCOUNT_ID.fullmatch(account_id)):
        raise errors.invalid(
            f"Invalid account id '{account_id}': 6-30 lowercase letters, digits and hyphens, "
            "starting with a letter and not ending with a hyphen.",
            "account_id",
        )
    email = f"{account_id}@{project}.iam.gserviceaccount.com"
    if email in call.state.store(AccountStore).accounts:
        raise errors.ApiError(
            "ALREADY_EXISTS",
            f"Service account {account_id} already exists within project projects/{project}.",
        )
    given = request.service_account
    if len(given.display_name) > 100:
        raise errors.invalid("Display name must be at most 100 characters.", "display_name")
    if len(given.description) > 256:
        raise errors.invalid("Description must be at most 256 characters.", "description")
    unique = "1" + str(int(hashlib.sha256(email.encode()).hexdigest(), 16))[:20]
    account = ServiceAccount(
        name=f"projects/{project}/serviceAccounts/{email}",
        project_id=project,
        unique_id=unique,
        email=email,
        # Kept and returned as given: Hangar notes an account's owner in its description
        # (an account has no labels). ServiceAccount.description, "optional, up to 256
        # characters", returned by get
        # (https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts).
        display_name=given.display_name,
        description=given.description,
        oauth2_client_id=unique,
        etag=b"MDEwMjE5MjA=",
    )
    call.state.store(AccountStore).accounts[email] = account
    call.state.store(AccountStore).created[email] = time.time()
    return account


def get(call: ApiCall) -> Message:
    email = _email(call, call.fields["name"])
    account = call.state.store(AccountStore).accounts.get(email)
    if account is None:
        raise errors.not_found(f"Unknown service account: {email}")
    return account


def delete(call: ApiCall) -> Message:
    email = _email(call, call.fields["name"])
    if call.state.store(AccountStore).accounts.pop(email, None) is None:
        raise errors.not_found(f"Service account {email} does not exist.")
    return empty_pb2.Empty()


def routes() -> list[Route]:
    svc = "iam.googleapis.com"
    name = "/v1/{name=projects/*/serviceAccounts/*}"

    def r(
        method: str, template: str, handler: Handler, request: Any, perm: str, **kw: Any
    ) -> Route:
        return Route(method, template, handler, request.pb(), perm, svc, frozenset(), **kw)

    return [
        r(
            "POST",
            "/v1/{name=projects/*}/serviceAccounts",
            create,
            ia.CreateServiceAccountRequest,
            "iam.serviceAccounts.create",
            body="*",
        ),
        r("GET", name, get, ia.GetServiceAccountRequest, "iam.serviceAccounts.get"),
        r("DELETE", name, delete, ia.DeleteServiceAccountRequest, "iam.serviceAccounts.delete"),
    ]
