"""Login limits that must hold against a guessing attacker: per address whatever the e-mail, counted in the
database (shared by every server process, e-mails stored keyed, failures kept even when the login's own
transaction fails), forwarded headers believed only from configured proxies, and a bounded number of
password hashes at once."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import Session, select
from starlette.requests import Request

from conftest import TEST_PASSWORD, TEST_SECRET
from terrain.audit import service as audit_service
from terrain.audit.models import AuditLog
from terrain.auth.deps import client_ip
from terrain.auth.models import LoginFailure
from terrain.auth.service import HashGate, LoginRateLimiter
from terrain.config import Settings
from terrain.errors import TerrainError
from terrain.main import create_app


def _limiter(engine: sa.Engine, settings: Settings, now: list[datetime], **limits: int) -> LoginRateLimiter:
    return LoginRateLimiter(engine, settings.model_copy(update=limits), clock=lambda: now[0])


def test_per_address_limit_counts_every_email(engine: sa.Engine, settings: Settings) -> None:
    now = [datetime(2030, 1, 1, tzinfo=UTC)]
    limiter = _limiter(
        engine, settings, now, login_max_failures=5, login_window_seconds=60, login_max_failures_per_address=3
    )
    for index in range(3):
        assert limiter.retry_after(f"random-{index}@x", "1.2.3.4") == 0
        limiter.record_failure(f"random-{index}@x", "1.2.3.4")
        now[0] += timedelta(seconds=10)
    # A fourth, never-seen e-mail from the same address is refused until the oldest failure leaves the
    # window (recorded 30 s ago: 30 s left); another address is not.
    assert limiter.retry_after("never-seen@x", "1.2.3.4") == 30
    assert limiter.retry_after("never-seen@x", "5.6.7.8") == 0
    now[0] += timedelta(seconds=30)
    assert limiter.retry_after("never-seen@x", "1.2.3.4") == 0


def test_retry_after_counts_from_the_oldest_failure_in_the_window(
    engine: sa.Engine, settings: Settings
) -> None:
    now = [datetime(2030, 1, 1, tzinfo=UTC)]
    limiter = _limiter(engine, settings, now, login_max_failures=3, login_window_seconds=100)
    limiter.record_failure("cible@x", "1.2.3.4")  # t=0: leaves the window at t=100
    now[0] += timedelta(seconds=150)
    for _ in range(3):  # t=150, 160, 170
        limiter.record_failure("Cible@X ", "1.2.3.4")
        now[0] += timedelta(seconds=10)
    # t=180: the failure of t=0 no longer counts; the oldest that does (t=150) leaves at t=250.
    assert limiter.retry_after("cible@x", "1.2.3.4") == 70
    now[0] += timedelta(seconds=69, milliseconds=500)
    assert limiter.retry_after("cible@x", "1.2.3.4") == 1  # rounded up, never 0 while refused
    now[0] += timedelta(milliseconds=500)
    assert limiter.retry_after("cible@x", "1.2.3.4") == 0


def test_failures_are_stored_keyed_never_in_clear(engine: sa.Engine, settings: Settings) -> None:
    limiter = LoginRateLimiter(engine, settings)
    limiter.record_failure(" Secret.Person@Example.org", "203.0.113.4")
    with Session(engine) as session:
        rows = session.exec(select(LoginFailure)).all()
    assert len(rows) == 1
    stored = " ".join(str(value) for value in rows[0].model_dump().values()).lower()
    assert "secret.person" not in stored and "example.org" not in stored
    expected = hmac.new(
        settings.signing_key().encode(), b"secret.person@example.org", hashlib.sha256
    ).hexdigest()
    assert rows[0].email_key == expected and rows[0].ip == "203.0.113.4"
    # Another key (another installation) gives another value: the table alone reveals nothing.
    other = settings.model_copy(
        update={"secret_key": SecretStr("another-secret-key-0123456789-abcdefghijkl")}
    )
    assert LoginRateLimiter(engine, other).email_key("secret.person@example.org") != expected


def test_old_failures_are_pruned_a_bounded_batch_at_a_time(engine: sa.Engine, settings: Settings) -> None:
    now = [datetime(2030, 1, 1, tzinfo=UTC)]
    limiter = _limiter(engine, settings, now, login_window_seconds=60)
    limiter.prune_batch = 3
    for index in range(5):
        limiter.record_failure(f"old-{index}@x", "1.2.3.4")
    now[0] += timedelta(seconds=61)

    def remaining() -> int:
        with Session(engine) as session:
            return len(session.exec(select(LoginFailure)).all())

    limiter.record_failure("new@x", "1.2.3.4")
    assert remaining() == 1 + 5 - 3
    limiter.record_failure("new@x", "1.2.3.4")
    assert remaining() == 2  # the two new ones, still in the window


def test_a_refusal_is_remembered_briefly_and_boundedly(engine: sa.Engine, settings: Settings) -> None:
    now = [datetime(2030, 1, 1, tzinfo=UTC)]
    limiter = _limiter(engine, settings, now, login_max_failures=2, login_window_seconds=60)
    for _ in range(2):
        limiter.record_failure("flood@x", "1.2.3.4")
    assert limiter.remembered_retry_after("flood@x", "1.2.3.4") == 0  # not asked yet: unknown
    assert limiter.retry_after("flood@x", "1.2.3.4") == 60
    # Another process's success clears the rows: this one still refuses from memory, a few seconds only.
    with Session(engine) as session:
        session.execute(sa.delete(LoginFailure))
        session.commit()
    now[0] += timedelta(seconds=2)
    assert limiter.remembered_retry_after("flood@x", "1.2.3.4") == 58
    assert limiter.retry_after("flood@x", "1.2.3.4") == 58
    now[0] += timedelta(seconds=limiter.remember_seconds)
    assert limiter.remembered_retry_after("flood@x", "1.2.3.4") == 0
    assert limiter.retry_after("flood@x", "1.2.3.4") == 0
    # A success in this process forgets the refusal at once.
    for _ in range(2):
        limiter.record_failure("flood@x", "1.2.3.4")
    assert limiter.retry_after("flood@x", "1.2.3.4") == 60
    limiter.reset("flood@x", "1.2.3.4")
    assert limiter.retry_after("flood@x", "1.2.3.4") == 0
    # Bounded: past max_remembered refusals, memory is dropped, never the rows in the database.
    limiter.max_remembered = 3
    for index in range(5):
        for _ in range(2):
            limiter.record_failure(f"many-{index}@x", "1.2.3.4")
        assert limiter.retry_after(f"many-{index}@x", "1.2.3.4") == 60
        assert len(limiter._refusals) <= 3
    assert all(limiter.retry_after(f"many-{index}@x", "1.2.3.4") == 60 for index in range(5))


def test_two_processes_share_the_limit(settings: Settings, world: Any) -> None:
    """Two applications on one database (two server processes): failures counted by one refuse the other."""
    world.user("viewer", email="partage@example.org")
    apps = [create_app(settings), create_app(settings)]
    try:
        with TestClient(apps[0]) as first, TestClient(apps[1]) as second:
            answers = []
            for attempt in range(6):
                client = (first, second)[attempt % 2]
                response = client.post(
                    "/api/v1/auth/token", data={"username": "partage@example.org", "password": "mauvais!!"}
                )
                answers.append(response.status_code)
            assert answers == [401] * 5 + [429]
            # Even the right password is refused by either process while the limit holds.
            for client in (first, second):
                refused = client.post(
                    "/api/v1/auth/token", data={"username": "partage@example.org", "password": TEST_PASSWORD}
                )
                assert refused.status_code == 429
                assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    finally:
        for application in apps:
            application.state.engine.dispose()


def test_per_address_limit_over_http_and_success_clears_only_its_own(settings: Settings, world: Any) -> None:
    limited = settings.model_copy(update={"login_max_failures_per_address": 4})
    world.user("viewer", email="legitime@example.org")
    app = create_app(limited)
    try:
        with TestClient(app) as client:

            def attempt(email: str, password: str = "mauvais!!") -> int:
                data = {"username": email, "password": password}
                status: int = client.post("/api/v1/auth/token", data=data).status_code
                return status

            assert attempt("legitime@example.org") == 401
            # A success clears this e-mail's failures from this address...
            assert attempt("legitime@example.org", TEST_PASSWORD) == 200
            # ...so four more failures with random e-mails are allowed, then every e-mail is refused.
            assert [attempt(f"hasard-{index}@example.org") for index in range(5)] == [401] * 4 + [429]
            assert attempt("legitime@example.org", TEST_PASSWORD) == 429
    finally:
        app.state.engine.dispose()


def test_failures_survive_a_rolled_back_login(
    client: TestClient, world: Any, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failure is committed on its own: a login whose own transaction fails still counts."""
    world.user("viewer", email="panne@example.org")
    original = audit_service.record

    def broken(action: str, **kwargs: Any) -> Any:
        if action == "auth.login_failed":
            raise RuntimeError("the audit write fails")
        return original(action, **kwargs)

    monkeypatch.setattr(audit_service, "record", broken)
    for _ in range(5):
        response = client.post(
            "/api/v1/auth/token", data={"username": "panne@example.org", "password": "mauvais!!"}
        )
        assert response.status_code == 500
    with Session(engine) as session:
        assert len(session.exec(select(LoginFailure)).all()) == 5
        assert session.exec(select(AuditLog).where(AuditLog.action == "auth.login_failed")).first() is None
    limited = client.post(
        "/api/v1/auth/token", data={"username": "panne@example.org", "password": TEST_PASSWORD}
    )
    assert limited.status_code == 429


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
