"""Login limits that must hold against a guessing attacker: per address whatever the e-mail, forwarded
headers believed only from configured proxies, and a bounded number of password hashes at once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.requests import Request

from conftest import TEST_SECRET
from terrain.auth.deps import client_ip
from terrain.auth.service import HashGate, LoginRateLimiter
from terrain.config import Settings
from terrain.errors import TerrainError


def test_per_address_limit_counts_every_email() -> None:
    now = [0.0]
    limiter = LoginRateLimiter(max_failures=5, window=60, clock=lambda: now[0], max_per_address=3)
    for index in range(3):
        assert limiter.retry_after(f"random-{index}@x", "1.2.3.4") == 0
        limiter.record_failure(f"random-{index}@x", "1.2.3.4")
    # A fourth, never-seen e-mail from the same address is refused; another address is not.
    assert limiter.retry_after("never-seen@x", "1.2.3.4") == 60
    assert limiter.retry_after("never-seen@x", "5.6.7.8") == 0
    now[0] += 61
    assert limiter.retry_after("never-seen@x", "1.2.3.4") == 0


def _request(peer: str, forwarded: list[str], trusted: list[str]) -> Request:
    app = FastAPI()
    app.state.settings = Settings(
        environment="test",
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        database_url="sqlite://",
        trusted_proxies=trusted,
    )
    scope: dict[str, Any] = {
        "type": "http",
        "app": app,
        "client": (peer, 1234),
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }
    return Request(scope)


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        # No proxy configured (the default): the header is ignored, whatever it says.
        ("203.0.113.9", ["198.51.100.1"], [], "203.0.113.9"),
        # A trusted proxy: the nearest address that is not a proxy is the client.
        ("10.0.0.2", ["198.51.100.1"], ["10.0.0.0/8"], "198.51.100.1"),
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1, 10.0.0.5"], ["10.0.0.0/8"], "198.51.100.1"),
        # The header from a peer that is not a proxy: ignored.
        ("203.0.113.9", ["198.51.100.1"], ["10.0.0.0/8"], "203.0.113.9"),
        # A malformed chain is not believed.
        ("10.0.0.2", ["not-an-address"], ["10.0.0.0/8"], "10.0.0.2"),
        ("::1", ["2001:db8::7"], ["::1"], "2001:db8::7"),
    ],
)
def test_forwarded_for_only_from_trusted_proxies(
    peer: str, forwarded: list[str], trusted: list[str], expected: str
) -> None:
    assert client_ip(_request(peer, forwarded, trusted)) == expected


def test_invalid_trusted_proxy_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="TERRAIN_TRUSTED_PROXIES"):
        Settings(environment="test", secret_key=TEST_SECRET, trusted_proxies=["proxy.local"])  # type: ignore[arg-type]


def test_forged_forwarded_header_does_not_escape_the_limit(client: TestClient, world: Any) -> None:
    world.user("viewer", email="cible@example.org")
    statuses = []
    for attempt in range(8):
        response = client.post(
            "/api/v1/auth/token",
            data={"username": "cible@example.org", "password": "mauvais-mot-de-passe"},
            headers={"X-Forwarded-For": f"198.51.100.{attempt}"},
        )
        statuses.append(response.status_code)
    assert statuses == [401] * 5 + [429] * 3


def test_hash_gate_bounds_concurrency_and_says_busy() -> None:
    async def scenario() -> tuple[int, list[str]]:
        gate = HashGate(slots=2, wait_seconds=0.2)
        running, peak, outcomes = 0, 0, []

        async def attempt() -> None:
            nonlocal running, peak
            try:
                async with gate.slot():
                    running += 1
                    peak = max(peak, running)
                    await asyncio.sleep(0.5)  # longer than the wait: later callers give up
                    running -= 1
                outcomes.append("ok")
            except TerrainError as error:
                assert error.headers == {"Retry-After": "1"}
                outcomes.append(error.code)

        await asyncio.gather(*(attempt() for _ in range(6)))
        return peak, outcomes

    peak, outcomes = asyncio.run(scenario())
    assert peak == 2
    assert sorted(outcomes) == ["auth.busy"] * 4 + ["ok"] * 2
