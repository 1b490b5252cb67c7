from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import select

from conftest import TEST_PASSWORD, TEST_SECRET, World
from terrain.audit.models import AuditLog
from terrain.auth.service import LoginRateLimiter, issue_access_token
from terrain.config import Settings


def _login(client: TestClient, email: str, password: str, **headers: str) -> object:
    return client.post("/api/v1/auth/token", data={"username": email, "password": password}, headers=headers)


def test_login_returns_short_lived_jwt(client: TestClient, world: World) -> None:
    user = world.user("coordinator", email="coord@example.org")
    response = client.post(
        "/api/v1/auth/token", data={"username": "Coord@Example.org", "password": TEST_PASSWORD}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    claims = jwt.decode(body["access_token"], TEST_SECRET, algorithms=["HS256"])
    assert claims["sub"] == str(user.id)
    assert claims["role"] == "coordinator"
    assert claims["exp"] - claims["iat"] == 15 * 60
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == "coord@example.org"
    actions = world.session.exec(select(AuditLog.action)).all()
    assert "auth.login" in actions


def test_login_failure_is_generic_and_audited_without_secrets(client: TestClient, world: World) -> None:
    world.user("viewer", email="v@example.org")
    wrong = client.post("/api/v1/auth/token", data={"username": "v@example.org", "password": "nope-nope"})
    unknown = client.post("/api/v1/auth/token", data={"username": "x@example.org", "password": "nope-nope"})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "auth.invalid_credentials"
        assert response.json()["error"]["message"] == "Adresse e-mail ou mot de passe incorrect."
    entries = world.session.exec(select(AuditLog).where(AuditLog.action == "auth.login_failed")).all()
    assert len(entries) == 2
    for entry in entries:
        text = str(entry.details) + str(entry.target_id)
        assert "nope-nope" not in text and "@" not in text


def test_inactive_user_cannot_login(client: TestClient, world: World) -> None:
    world.user("viewer", email="off@example.org", active=False)
    response = client.post(
        "/api/v1/auth/token", data={"username": "off@example.org", "password": TEST_PASSWORD}
    )
    assert response.status_code == 401


def test_rate_limit_after_five_failures(client: TestClient, world: World) -> None:
    world.user("viewer", email="v@example.org")
    for _ in range(5):
        response = client.post(
            "/api/v1/auth/token", data={"username": "v@example.org", "password": "mauvais!!"}
        )
        assert response.status_code == 401
    limited = client.post(
        "/api/v1/auth/token",
        data={"username": "v@example.org", "password": TEST_PASSWORD},
        headers={"Accept-Language": "en"},
    )
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "auth.rate_limited"
    assert limited.json()["error"]["message"].startswith("Too many login attempts")
    assert 0 < int(limited.headers["Retry-After"]) <= 15 * 60
    # Other emails from the same IP are not affected.
    world.user("viewer", email="w@example.org")
    ok = client.post("/api/v1/auth/token", data={"username": "w@example.org", "password": TEST_PASSWORD})
    assert ok.status_code == 200


def test_rate_limiter_window_expires_and_success_resets(engine: sa.Engine, settings: Settings) -> None:
    now = [datetime(2030, 1, 1, tzinfo=UTC)]
    settings = settings.model_copy(update={"login_max_failures": 2, "login_window_seconds": 60})
    limiter = LoginRateLimiter(engine, settings, clock=lambda: now[0])
    limiter.record_failure("A@x", "1.2.3.4")
    assert limiter.retry_after("a@x", "1.2.3.4") == 0
    limiter.record_failure("a@x", "1.2.3.4")
    assert limiter.retry_after("a@x", "1.2.3.4") == 60
    assert limiter.retry_after("a@x", "5.6.7.8") == 0
    now[0] += timedelta(seconds=30)
    assert limiter.retry_after("a@x", "1.2.3.4") == 30
    now[0] += timedelta(seconds=31)
    assert limiter.retry_after("a@x", "1.2.3.4") == 0
    limiter.record_failure("a@x", "1.2.3.4")
    limiter.reset("a@x", "1.2.3.4")
    limiter.record_failure("a@x", "1.2.3.4")
    assert limiter.retry_after("a@x", "1.2.3.4") == 0


def test_expired_tampered_and_missing_tokens(client: TestClient, world: World) -> None:
    user = world.user("admin")
    expired = issue_access_token(user, settings=world.settings, now=datetime.now(UTC) - timedelta(hours=1))
    tampered = world.token(user)[:-3] + "abc"
    forged = jwt.encode({"sub": str(user.id), "exp": 2**31, "typ": "access"}, "x" * 40, algorithm="HS256")
    for token in (expired.access_token, tampered, forged, "garbage"):
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "auth.invalid_token"
    missing = client.get("/api/v1/me")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "auth.not_authenticated"
    assert missing.headers["WWW-Authenticate"] == "Bearer"


def test_deactivated_user_token_rejected(client: TestClient, world: World) -> None:
    user = world.user("viewer")
    headers = world.headers(user)
    user.active = False
    world.session.add(user)
    world.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_device_token_lifecycle(client: TestClient, world: World) -> None:
    user = world.user("fieldworker")
    created = client.post(
        "/api/v1/auth/device-tokens", json={"name": "Tablette 1"}, headers=world.headers(user)
    )
    assert created.status_code == 201
    secret = created.json()["token"]
    assert secret.startswith("tdt_") and len(secret) > 40
    token_id = created.json()["id"]

    device = {"Authorization": f"Bearer {secret}"}
    me = client.get("/api/v1/me", headers=device)
    assert me.status_code == 200 and me.json()["id"] == user.id

    listed = client.get("/api/v1/auth/device-tokens", headers=world.headers(user)).json()
    assert [row["id"] for row in listed] == [token_id]
    assert "token" not in listed[0]
    assert listed[0]["last_used_at"] is not None

    other = world.user("fieldworker")
    assert client.get("/api/v1/auth/device-tokens", headers=world.headers(other)).json() == []
    assert (
        client.delete(f"/api/v1/auth/device-tokens/{token_id}", headers=world.headers(other)).status_code
        == 404
    )

    assert (
        client.delete(f"/api/v1/auth/device-tokens/{token_id}", headers=world.headers(user)).status_code
        == 204
    )
    rejected = client.get("/api/v1/me", headers=device)
    assert rejected.status_code == 401
    assert rejected.json()["error"]["code"] == "auth.device_revoked"
    unknown = client.get("/api/v1/me", headers={"Authorization": "Bearer tdt_unknown"})
    assert unknown.status_code == 401 and unknown.json()["error"]["code"] == "auth.invalid_token"


def test_token_hash_only_is_stored(client: TestClient, world: World) -> None:
    from terrain.auth.models import DeviceToken

    user = world.user("viewer")
    secret = client.post(
        "/api/v1/auth/device-tokens", json={"name": "x"}, headers=world.headers(user)
    ).json()["token"]
    row = world.session.exec(select(DeviceToken)).one()
    assert secret not in row.token_hash and len(row.token_hash) == 64
