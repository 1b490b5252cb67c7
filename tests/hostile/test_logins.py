"""Login floods and forged client addresses against a real server.

Each test connects from its own loopback address (127.0.0.x): the per-address login limit it exhausts on
purpose then blocks no other test. Tokens for the admin are minted by the fixture, never by logging in."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from hostile.harness import Server, assert_bounded, start_server, while_running

pytestmark = pytest.mark.hostile

TOKEN_PATH = "/api/v1/auth/token"
PER_EMAIL = 5  # login_max_failures, per e-mail and address
PER_ADDRESS = 30  # login_max_failures_per_address
HASH_SLOTS = 2  # upper bound of password_hash_concurrency here (cores - 1 on a 2-core machine: 1)


def login(client: httpx.Client, email: str, forwarded_for: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.post(TOKEN_PATH, data={"username": email, "password": "pas-le-bon"}, headers=headers)


def newest_audit_id(server: Server) -> int:
    with server.client() as client:
        rows = client.get("/api/v1/audit", params={"limit": 1}, headers=server.admin()).json()
    return int(rows[0]["id"]) if rows else 0


def audit_since(server: Server, after_id: int) -> list[dict[str, Any]]:
    with server.client() as client:
        response = client.get("/api/v1/audit", params={"limit": 1000}, headers=server.admin())
    assert response.status_code == 200, response.text
    return [row for row in response.json() if row["id"] > after_id and row["action"].startswith("auth.")]


# --- 6. password hashing flood -------------------------------------------------------------------


def test_200_concurrent_logins_are_limited_bounded_and_never_500(server: Server) -> None:
    emails = [f"{uuid.uuid4().hex[:12]}@flood.example.org" for _ in range(200)]

    def flood() -> list[httpx.Response]:
        with (
            server.client(local_address="127.0.0.6", timeout=60, connections=50) as client,
            ThreadPoolExecutor(max_workers=50) as pool,
        ):
            return list(pool.map(lambda email: login(client, email), emails))

    run = while_running(server, flood, timeout=60)
    # argon2 costs 64 MiB per hash and at most HASH_SLOTS run at once.
    assert_bounded(run, seconds=30, growth_mb=300)
    statuses = Counter(response.status_code for response in run.value)
    print(f"[hostile] login flood answers: {dict(statuses)}")
    assert set(statuses) <= {401, 429, 503}, statuses
    expected = {401: "auth.invalid_credentials", 429: "auth.rate_limited", 503: "auth.busy"}
    for response in run.value:
        assert response.json()["error"]["code"] == expected[response.status_code]
        if response.status_code in (429, 503):
            assert int(response.headers["Retry-After"]) >= 1
    # The address's budget: 30 failures (two hashes may pass the check together), then 429 for the rest.
    assert statuses[429] >= 1
    assert statuses[401] <= PER_ADDRESS + HASH_SLOTS
    with server.client(local_address="127.0.0.6") as client:
        assert login(client, emails[0]).status_code == 429  # still limited afterwards


# --- 7. X-Forwarded-For --------------------------------------------------------------------------


@pytest.mark.parametrize("peer", ["127.0.0.1", "127.0.0.7"])
def test_forged_forwarded_for_is_ignored_without_trusted_proxy(server: Server, peer: str) -> None:
    """30 wrong passwords, each with another forged X-Forwarded-For: the limit still counts them against
    the real peer (5 per e-mail and address), and the audit log records the peer, never a forged address.
    From 127.0.0.1 too: uvicorn's own proxy-header handling (``proxy_headers``, which trusts 127.0.0.1 by
    default) must be off in ``terrain serve``."""
    email = f"victime-{peer}@hostile.example.org"
    forged = [f"198.51.100.{index}" for index in range(1, 31)]
    first_id = newest_audit_id(server)

    def attempts() -> list[int]:
        with server.client(local_address=peer) as client:
            return [login(client, email, address).status_code for address in forged]

    run = while_running(server, attempts)
    assert_bounded(run, seconds=30, growth_mb=150)
    assert run.value == [401] * PER_EMAIL + [429] * (len(forged) - PER_EMAIL), run.value
    rows = audit_since(server, first_id)
    assert Counter(row["action"] for row in rows) == {
        "auth.login_failed": PER_EMAIL,
        "auth.rate_limited": len(forged) - PER_EMAIL,
    }
    assert {row["ip"] for row in rows} == {peer}


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A second server, behind a (pretend) reverse proxy at 127.0.0.1."""
    running = start_server(tmp_path_factory.mktemp("hostile-proxied"), TERRAIN_TRUSTED_PROXIES="127.0.0.1")
    try:
        yield running
    finally:
        running.stop()


def test_forwarded_for_is_believed_from_a_trusted_proxy_only(proxied: Server) -> None:
    first_id = newest_audit_id(proxied)

    def attempts() -> dict[str, list[int]]:
        email = "victime@hostile.example.org"
        answers: dict[str, list[int]] = {}
        with proxied.client(local_address="127.0.0.1") as through_proxy:
            # Each client behind the proxy has its own budget: 5 failures, then 429.
            answers["198.51.100.20"] = [
                login(through_proxy, email, "198.51.100.20").status_code for _ in range(6)
            ]
            answers["198.51.100.21"] = [login(through_proxy, email, "198.51.100.21").status_code]
            # A chain: the nearest address that is not a proxy is the client; what it wrote is not.
            answers["203.0.113.5, 198.51.100.22"] = [
                login(through_proxy, email, "203.0.113.5, 198.51.100.22").status_code
            ]
        with proxied.client(local_address="127.0.0.8") as direct:
            # Not a trusted proxy: its X-Forwarded-For is not believed.
            answers["direct"] = [login(direct, email, "198.51.100.30").status_code]
        return answers

    run = while_running(proxied, attempts)
    assert_bounded(run, seconds=30, growth_mb=150)
    assert run.value == {
        "198.51.100.20": [401] * PER_EMAIL + [429],
        "198.51.100.21": [401],
        "203.0.113.5, 198.51.100.22": [401],
        "direct": [401],
    }
    ips = Counter(row["ip"] for row in audit_since(proxied, first_id))
    assert ips == {"198.51.100.20": PER_EMAIL + 1, "198.51.100.21": 1, "198.51.100.22": 1, "127.0.0.8": 1}
