from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import select

from conftest import World
from terrain.audit.models import AuditLog
from terrain.auth.service import verify_password
from terrain.users import service
from terrain.users.models import User


def test_admin_creates_and_updates_user(client: TestClient, world: World) -> None:
    world.site("nord")
    world.site("sud")
    admin = world.headers(world.user("admin"))
    created = client.post(
        "/api/v1/users",
        json={
            "email": "Marie@Example.org",
            "password": "un-long-mot-de-passe",
            "role": "fieldworker",
            "sites": ["nord"],
            "display_name": "Marie",
            "language": "en",
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["email"] == "marie@example.org" and body["sites"] == ["nord"] and body["language"] == "en"
    assert "password" not in body and "password_hash" not in body
    stored = world.session.get(User, body["id"])
    assert stored is not None and stored.password_hash.startswith("$argon2id$")
    assert verify_password(stored.password_hash, "un-long-mot-de-passe")

    duplicate = client.post(
        "/api/v1/users",
        json={"email": "marie@example.org", "password": "un-long-mot-de-passe", "role": "viewer"},
        headers=admin,
    )
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "user.email_taken"
    weak = client.post(
        "/api/v1/users", json={"email": "a@b.fr", "password": "court", "role": "viewer"}, headers=admin
    )
    assert weak.status_code == 422 and weak.json()["error"]["code"] == "user.weak_password"
    bad_role = client.post(
        "/api/v1/users",
        json={"email": "a@b.fr", "password": "un-long-mot-de-passe", "role": "chef"},
        headers=admin,
    )
    assert bad_role.status_code == 422 and bad_role.json()["error"]["code"] == "request.invalid"

    patched = client.patch(
        f"/api/v1/users/{body['id']}",
        json={"role": "coordinator", "sites": ["sud"], "active": False},
        headers=admin,
    )
    assert patched.status_code == 200
    assert patched.json()["role"] == "coordinator" and patched.json()["sites"] == ["sud"]
    assert patched.json()["active"] is False
    actions = world.session.exec(select(AuditLog.action)).all()
    assert {"user.created", "user.role_changed", "user.sites_changed", "user.deactivated"} <= set(actions)
    for entry in world.session.exec(select(AuditLog)).all():
        assert "un-long-mot-de-passe" not in str(entry.details)
    assert client.patch("/api/v1/users/9999", json={"role": "viewer"}, headers=admin).status_code == 404


def test_last_admin_cannot_be_demoted(client: TestClient, world: World) -> None:
    admin = world.user("admin")
    response = client.patch(
        f"/api/v1/users/{admin.id}", json={"role": "viewer"}, headers=world.headers(admin)
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "user.last_admin"
    second = world.user("admin")
    ok = client.patch(f"/api/v1/users/{second.id}", json={"active": False}, headers=world.headers(admin))
    assert ok.status_code == 200


def test_coordinator_lists_users_of_own_sites(client: TestClient, world: World) -> None:
    nord, sud = world.site("nord"), world.site("sud")
    coordinator = world.user("coordinator", sites=(nord,))
    colleague = world.user("fieldworker", sites=(nord, sud))
    world.user("fieldworker", sites=(sud,))
    world.user("admin")
    response = client.get("/api/v1/users", headers=world.headers(coordinator))
    assert sorted(user["id"] for user in response.json()) == sorted([coordinator.id, colleague.id])
    all_users = client.get("/api/v1/users", headers=world.headers(world.user("admin"))).json()
    assert len(all_users) == 5


def test_me(client: TestClient, world: World) -> None:
    site = world.site("nord", "Aire du Nord")
    user = world.user("viewer", sites=(site,), email="me@example.org")
    body = client.get("/api/v1/me", headers=world.headers(user)).json()
    assert body["email"] == "me@example.org" and body["role"] == "viewer" and body["sites"] == ["nord"]


def test_bootstrap_admin_is_idempotent(world: World) -> None:
    first = service.bootstrap_admin(session=world.session)
    world.session.commit()
    assert first.created and first.generated_password and first.email == "admin@terrain.local"
    again = service.bootstrap_admin(session=world.session, email="other@example.org", password="x" * 12)
    assert not again.created and again.generated_password is None
    admins = world.session.exec(select(User).where(User.role == "admin")).all()
    assert len(admins) == 1
