"""How the PWA signs in on a phone: a password login with ``device_name`` also returns a device token
(shown once). A revoked device, or one whose account was deactivated, is told so with its own code
(``auth.device_revoked``: keep the data on the device, sign in again) and can do nothing at all."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from conftest import TEST_PASSWORD, World
from terrain.audit.models import AuditLog
from terrain.auth.models import DeviceToken

TOKEN_PATH = "/api/v1/auth/token"


def _login(client: TestClient, email: str, password: str = TEST_PASSWORD, **extra: str) -> Any:
    return client.post(TOKEN_PATH, data={"username": email, "password": password, **extra})


def _bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def test_login_with_device_name_returns_a_working_device_token(client: TestClient, world: World) -> None:
    site = world.site("aire-nord")
    user = world.user("fieldworker", sites=(site,), email="terrain@example.org")
    response = _login(client, "terrain@example.org", device_name="Téléphone de Léa")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["device_token"].startswith("tdt_") and len(body["device_token"]) > 40
    assert isinstance(body["device_token_id"], int)
    # Both tokens work, and the device token acts as the user.
    for token in (body["access_token"], body["device_token"]):
        me = client.get("/api/v1/me", headers=_bearer(token))
        assert me.status_code == 200 and me.json()["id"] == user.id
        assert client.get("/api/v1/specs", headers=_bearer(token)).status_code == 200
    row = world.session.exec(select(DeviceToken)).one()
    assert (row.id, row.user_id, row.name) == (body["device_token_id"], user.id, "Téléphone de Léa")
    assert body["device_token"] not in row.token_hash
    created = world.session.exec(select(AuditLog).where(AuditLog.action == "auth.device_token_created")).one()
    assert (created.actor_user_id, created.target_id) == (user.id, str(row.id))
    assert body["device_token"] not in str(created.details)
    # The owner sees it in their list of devices (without the secret).
    listed = client.get("/api/v1/auth/device-tokens", headers=_bearer(body["access_token"])).json()
    assert [(entry["id"], entry["name"]) for entry in listed] == [(row.id, "Téléphone de Léa")]
    assert "token" not in listed[0] and "device_token" not in listed[0]


def test_login_without_device_name_is_unchanged(client: TestClient, world: World) -> None:
    world.user("viewer", email="bureau@example.org")
    response = _login(client, "bureau@example.org")
    assert response.status_code == 200
    assert set(response.json()) == {"access_token", "token_type", "expires_in"}
    assert world.session.exec(select(DeviceToken)).all() == []


def test_no_device_token_without_a_successful_login(client: TestClient, world: World) -> None:
    world.user("fieldworker", email="perdu@example.org")
    world.user("fieldworker", email="inactif@example.org", active=False)
    wrong = _login(client, "perdu@example.org", "mauvais!!", device_name="tablette")
    inactive = _login(client, "inactif@example.org", device_name="tablette")
    unknown = _login(client, "personne@example.org", device_name="tablette")
    for response in (wrong, inactive, unknown):
        assert response.status_code == 401
        assert "device_token" not in response.json()
    for _ in range(4):  # five failures in all for this e-mail and address
        _login(client, "perdu@example.org", "mauvais!!")
    limited = _login(client, "perdu@example.org", device_name="tablette")  # the right password, too late
    assert limited.status_code == 429
    assert world.session.exec(select(DeviceToken)).all() == []


def test_device_name_is_validated(client: TestClient, world: World) -> None:
    world.user("fieldworker", email="valide@example.org")
    for name in ("x" * 201, "nul\x00"):
        response = _login(client, "valide@example.org", device_name=name)
        assert response.status_code == 422, name
        assert response.json()["error"]["code"] == "request.invalid"
    assert _login(client, "valide@example.org", device_name="y" * 200).status_code == 200
    assert world.session.exec(select(DeviceToken.name)).all() == ["y" * 200]


def test_a_device_token_still_never_mints_another(client: TestClient, world: World) -> None:
    world.user("fieldworker", email="unique@example.org")
    device = _login(client, "unique@example.org", device_name="téléphone").json()["device_token"]
    child = client.post("/api/v1/auth/device-tokens", json={"name": "enfant"}, headers=_bearer(device))
    assert child.status_code == 403
    assert child.json()["error"]["code"] == "auth.interactive_login_required"


def _revoked(response: Any) -> None:
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["code"] == "auth.device_revoked"
    assert error["details"] == {"keep_local_data": True}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_revoked_device_is_told_so_and_can_do_nothing(client: TestClient, world: World) -> None:
    admin = world.user("admin")
    owner = world.user("coordinator", email="coord@example.org")
    body = _login(client, "coord@example.org", device_name="téléphone").json()
    device, device_id = body["device_token"], body["device_token_id"]
    assert client.get("/api/v1/specs", headers=_bearer(device)).status_code == 200
    # The owner revokes it from another session (the lost phone's access token is its own business).
    revoked = client.delete(f"/api/v1/auth/device-tokens/{device_id}", headers=_bearer(body["access_token"]))
    assert revoked.status_code == 204

    french = client.get("/api/v1/specs", headers=_bearer(device))
    _revoked(french)
    message = french.json()["error"]["message"]
    assert "déconnecté" in message and "conservées" in message and "reconnectez-vous" in message
    english = client.get("/api/v1/specs", headers=_bearer(device, **{"Accept-Language": "en"}))
    _revoked(english)
    assert "signed out" in english.json()["error"]["message"]
    # Nothing else either: reading, creating, listing or revoking devices, changing its own password.
    _revoked(client.get("/api/v1/me", headers=_bearer(device)))
    _revoked(client.get("/api/v1/auth/device-tokens", headers=_bearer(device)))
    _revoked(client.post("/api/v1/auth/device-tokens", json={"name": "x"}, headers=_bearer(device)))
    _revoked(client.delete(f"/api/v1/auth/device-tokens/{device_id}", headers=_bearer(device)))
    _revoked(client.post("/api/v1/specs", json={"source": "spec: 1"}, headers=_bearer(device)))
    # The admin still sees the device, revoked.
    listed = client.get(
        "/api/v1/auth/device-tokens", params={"user_id": owner.id}, headers=world.headers(admin)
    ).json()
    assert [(entry["id"], entry["revoked_at"] is not None) for entry in listed] == [(device_id, True)]


def test_unknown_or_garbled_device_tokens_stay_invalid(client: TestClient, world: World) -> None:
    world.user("fieldworker", email="brouille@example.org")
    device = _login(client, "brouille@example.org", device_name="téléphone").json()["device_token"]
    for token in ("tdt_inconnu", device[:-2] + "xx", "tdt_", device + "a"):
        response = client.get("/api/v1/specs", headers=_bearer(token))
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "auth.invalid_token"


def test_deactivated_or_reset_account_signs_its_devices_out(client: TestClient, world: World) -> None:
    admin = world.user("admin")
    off, reset = world.user("fieldworker"), world.user("fieldworker")
    devices = {
        user.id: _login(client, user.email, device_name="téléphone").json()["device_token"]
        for user in (off, reset)
    }
    deactivated = client.patch(
        f"/api/v1/users/{off.id}", json={"active": False}, headers=world.headers(admin)
    )
    assert deactivated.status_code == 200
    changed = client.patch(
        f"/api/v1/users/{reset.id}", json={"password": "un-autre-mot-de-passe"}, headers=world.headers(admin)
    )
    assert changed.status_code == 200
    for token in devices.values():
        _revoked(client.get("/api/v1/specs", headers=_bearer(token)))
    # Signing in again on the phone gives a new, working device token.
    again = _login(client, reset.email, "un-autre-mot-de-passe", device_name="téléphone").json()
    assert client.get("/api/v1/specs", headers=_bearer(again["device_token"])).status_code == 200


def test_admin_revokes_a_lost_phone_created_at_login(client: TestClient, world: World) -> None:
    admin, user = world.user("admin"), world.user("fieldworker")
    body = _login(client, user.email, device_name="téléphone perdu").json()
    listed = client.get(
        "/api/v1/auth/device-tokens", params={"user_id": user.id}, headers=world.headers(admin)
    ).json()
    assert [entry["id"] for entry in listed] == [body["device_token_id"]]
    revoked = client.delete(
        f"/api/v1/auth/device-tokens/{body['device_token_id']}", headers=world.headers(admin)
    )
    assert revoked.status_code == 204
    _revoked(client.get("/api/v1/specs", headers=_bearer(body["device_token"])))
    # The user's access token from the same login is not a device token: it keeps working.
    assert client.get("/api/v1/specs", headers=_bearer(body["access_token"])).status_code == 200
