"""The upstream credential: ID tokens minted off the event loop, shared and cached per URL."""

import asyncio
import threading
import time

import pytest

from gcp import endpoint_credentials as upstream_auth
from gcp.endpoint_credentials import CloudRunIdToken, UpstreamCredentialError, _Cached


class Minting(CloudRunIdToken):
    """Counts mints and hands out tokens that expire when the test says."""

    def __init__(self, lifetime: float) -> None:
        super().__init__()
        self.lifetime = lifetime
        self.minted: list[str] = []
        self.threads: set[str] = set()

    def _mint(self, audience: str) -> _Cached:
        time.sleep(0.05)  # a metadata-server round trip, blocking
        self.threads.add(threading.current_thread().name)
        self.minted.append(audience)
        return _Cached(f"token-{len(self.minted)}", upstream_auth._now() + self.lifetime)


def test_a_burst_shares_one_mint_made_off_the_event_loop():
    strategy = Minting(lifetime=3600)

    async def burst():
        return await asyncio.gather(*[strategy.headers("https://svc.run.app/") for _ in range(20)])

    results = asyncio.run(burst())
    assert strategy.minted == ["https://svc.run.app"]  # one mint, trailing slash ignored
    assert {r["Authorization"] for r in results} == {"Bearer token-1"}
    assert threading.main_thread().name not in strategy.threads
    assert asyncio.run(strategy.headers("https://svc.run.app"))["Authorization"] == "Bearer token-1"


def test_a_token_near_expiry_is_used_while_a_fresh_one_is_minted(settings):
    settings.PLAYGROUND = {**settings.PLAYGROUND, "ID_TOKEN_REFRESH_MARGIN_SECONDS": 300}
    strategy = Minting(lifetime=200)  # inside the margin from the start, but still valid

    async def twice():
        first = await strategy.headers("https://svc.run.app")
        second = await strategy.headers("https://svc.run.app")  # answers at once...
        await asyncio.sleep(0.2)  # ...while the refresh finishes beside it
        return first, second

    first, second = asyncio.run(twice())
    assert first == second == {"Authorization": "Bearer token-1"}
    assert len(strategy.minted) == 2
    assert strategy._cache["https://svc.run.app"].token == "token-2"


def test_an_expired_token_is_never_sent():
    strategy = Minting(lifetime=10)  # under the 30 s floor: treated as unusable
    asyncio.run(strategy.headers("https://svc.run.app"))
    assert asyncio.run(strategy.headers("https://svc.run.app")) == {
        "Authorization": "Bearer token-2"
    }


def test_a_credential_kind_without_a_strategy_says_so():
    with pytest.raises(UpstreamCredentialError, match="no way to get a 'gke-access-token'"):
        asyncio.run(
            upstream_auth.upstream_headers(credential="gke-access-token", endpoint_url="http://x")
        )
    with pytest.raises(UpstreamCredentialError, match="no way to get a 'gke-access-token'"):
        upstream_auth.upstream_headers_now(credential="gke-access-token", endpoint_url="http://x")


def test_a_real_id_token_from_the_metadata_server(sandbox):
    strategy = CloudRunIdToken()
    audience = "http://127.0.0.1:1/_run/hangar-sandbox/europe-west1/svc"
    header = asyncio.run(strategy.headers(audience))["Authorization"]
    assert header.startswith("Bearer eyJ")
    assert strategy._cache[audience].expires_at > upstream_auth._now() + 600
