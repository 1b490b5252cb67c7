"""Device tokens and access tokens end when they should: only a password login issues a device token,
a password change or reset ends every token of the user, admins list and revoke anyone's devices."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import select

from conftest import TEST_PASSWORD, World
from terrain.audit.models import AuditLog


def _device(client: TestClient, headers: dict[str, str], name: str = "téléphone") -> tuple[int, str]:
    created = client.post("/api/v1/auth/device-tokens", json={"name": name}, headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    return body["id"], body["token"]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_device_token_cannot_mint_device_tokens(client: TestClient, world: World) -> None:
    user = world.user("fieldworker")
    _id, secret = _device(client, world.headers(user))
    child = client.post("/api/v1/auth/device-tokens", json={"name": "enfant"}, headers=_bearer(secret))
    assert child.status_code == 403
    assert child.json()["error"]["code"] == "auth.interactive_login_required"
    # The device token itself still works for everything else.
    assert client.get("/api/v1/me", headers=_bearer(secret)).status_code == 200


def test_password_reset_ends_access_and_device_tokens(client: TestClient, world: World) -> None:
    admin, user = world.user("admin"), world.user("fieldworker")
    login = client.post("/api/v1/auth/token", data={"username": user.email, "password": TEST_PASSWORD})
    access = login.json()["access_token"]
    _id, device = _device(client, _bearer(access))
    for token in (access, device):
        assert client.get("/api/v1/me", headers=_bearer(token)).status_code == 200
    reset = client.patch(
        f"/api/v1/users/{user.id}", json={"password": "un-nouveau-mot-de-passe"}, headers=world.headers(admin)
    )
    assert reset.status_code == 200, reset.text
    # The access token is simply invalid; the device is told it was signed out and keeps its data.
    for token, code in ((access, "auth.invalid_token"), (device, "auth.device_revoked")):
        refused = client.get("/api/v1/me", headers=_bearer(token))
        assert refused.status_code == 401 and refused.json()["error"]["code"] == code
    # The new password gives a working token again.
    again = client.post(
        "/api/v1/auth/token", data={"username": user.email, "password": "un-nouveau-mot-de-passe"}
    )
    assert client.get("/api/v1/me", headers=_bearer(again.json()["access_token"])).status_code == 200
    ended = world.session.exec(select(AuditLog).where(AuditLog.action == "auth.sessions_ended")).all()
    assert [entry.details for entry in ended] == [{"reason": "password_changed", "device_tokens_revoked": 1}]
    assert "un-nouveau-mot-de-passe" not in str([entry.details for entry in ended])


def test_admin_lists_and_revokes_another_users_device(client: TestClient, world: World) -> None:
    admin, user, other = world.user("admin"), world.user("fieldworker"), world.user("fieldworker")
    token_id, secret = _device(client, world.headers(user), "tablette perdue")
    listed = client.get(f"/api/v1/auth/device-tokens?user_id={user.id}", headers=world.headers(admin))
    assert listed.status_code == 200
    assert [(row["id"], row["user_id"], row["name"]) for row in listed.json()] == [
        (token_id, user.id, "tablette perdue")
    ]
    # Another field worker neither lists nor revokes it (404: its existence is not disclosed).
    peek = client.get(f"/api/v1/auth/device-tokens?user_id={user.id}", headers=world.headers(other))
    assert peek.status_code == 403
    stranger = client.delete(f"/api/v1/auth/device-tokens/{token_id}", headers=world.headers(other))
    assert stranger.status_code == 404
    assert client.get("/api/v1/me", headers=_bearer(secret)).status_code == 200
    revoked = client.delete(f"/api/v1/auth/device-tokens/{token_id}", headers=world.headers(admin))
    assert revoked.status_code == 204
    gone = client.get("/api/v1/me", headers=_bearer(secret))
    assert gone.status_code == 401 and gone.json()["error"]["code"] == "auth.device_revoked"
    entry = world.session.exec(select(AuditLog).where(AuditLog.action == "auth.device_token_revoked")).one()
    assert entry.actor_user_id == admin.id and entry.details == {"owner_user_id": user.id}
    missing = client.get("/api/v1/auth/device-tokens?user_id=999999", headers=world.headers(admin))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "user.not_found"


def test_deactivated_user_tokens_stop_working(client: TestClient, world: World) -> None:
    admin, user = world.user("admin"), world.user("fieldworker")
    _id, device = _device(client, world.headers(user))
    off = client.patch(f"/api/v1/users/{user.id}", json={"active": False}, headers=world.headers(admin))
    assert off.status_code == 200
    refused = client.get("/api/v1/me", headers=_bearer(device))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "auth.device_revoked"
    assert refused.json()["error"]["details"] == {"keep_local_data": True}
