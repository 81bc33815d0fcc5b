"""What the GKE smoke test makes of the API server's answers on the service proxy: a busy
or failing API server (429, 5xx) is tried again; a refused credential (401, 403) fails with
the role Hangar's identity needs, not a hint about the container's image."""

from datetime import UTC, datetime
from typing import Any

import pytest

from deployments.targets.endpoint import Credential, Endpoint, Protocol
from gcp import kube
from runbook.executors import EXECUTORS, kube_endpoint
from runbook.owners import StepClaim
from runbook.plan import ApiRequest, Step
from runbook.results import Failed, Retry

PROXY = "/api/v1/namespaces/n/services/s:8080/proxy"
ROLE = "roles/container.developer"


class _Reply:
    def __init__(self, status: int, data: bytes) -> None:
        self.status, self.data = status, data


def _claim(action: str, path: str, body: dict[str, Any] | None = None) -> StepClaim:
    step = Step(
        key="k",
        title="t",
        action=action,
        request=ApiRequest("kubernetes", "POST" if body else "GET", PROXY + path, body),
        cli="kubectl get --raw",
        required_role=ROLE,
        params={"cluster": 1},
    )
    return StepClaim(
        owner_kind="deployment",
        owner_id=1,
        run_id=1,
        lease_owner="t",
        step=step,
        operation="",
        retries=0,
        started_at=datetime.now(UTC),
        outputs={},
        endpoint=Endpoint("x", Protocol.OPENAI, Credential.GKE_SERVICE_PROXY_ACCESS_TOKEN, ("m",)),
    )


@pytest.fixture
def answers(monkeypatch: Any) -> Any:
    def set_reply(status: int, data: bytes = b"{}") -> None:
        monkeypatch.setattr(kube, "proxy", lambda *a, **kw: _Reply(status, data))

    monkeypatch.setattr(kube_endpoint, "conn_for", lambda params: kube.ClusterConn("10.0.0.1", ""))
    return set_reply


CALLS = [
    ("kube.proxy_health", "/health", None),
    ("kube.proxy_chat", "/v1/chat/completions", {"model": "m", "messages": []}),
]


@pytest.mark.parametrize(("action", "path", "body"), CALLS)
@pytest.mark.parametrize("status", [429, 500, 502, 504])
def test_a_busy_or_failing_api_server_is_tried_again(answers, action, path, body, status):
    answers(status, b'{"kind":"Status","message":"try again later"}')
    result = EXECUTORS[action](_claim(action, path, body))
    assert isinstance(result, Retry), result
    assert str(status) in result.error


@pytest.mark.parametrize(("action", "path", "body"), CALLS)
@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_credential_names_the_role(answers, action, path, body, status):
    answers(status, b'{"message":"requires one of [\\"container.services.proxy\\"]"}')
    result = EXECUTORS[action](_claim(action, path, body))
    assert isinstance(result, Failed), result
    assert ROLE in result.hint and "container.services.proxy" in result.hint
    assert "image" not in result.hint


@pytest.mark.parametrize(("action", "path", "body"), CALLS)
def test_a_403_status_names_the_verb_resource_and_namespace(answers, action, path, body):
    answers(
        403,
        b'{"kind":"Status","status":"Failure","reason":"Forbidden","code":403,'
        b'"details":{"name":"vllm:8000","kind":"services"},'
        b'"message":"services \\"vllm:8000\\" is forbidden: User \\"portal\\" cannot get '
        b'resource \\"services/proxy\\" in API group \\"\\" in the namespace \\"team-ml\\": '
        b'requires one of [\\"container.services.proxy\\"] permission(s)."}',
    )
    result = EXECUTORS[action](_claim(action, path, body))
    assert isinstance(result, Failed), result
    assert "may not get services in the namespace team-ml" in result.hint
    assert "container.services.proxy" in result.hint and ROLE in result.hint
