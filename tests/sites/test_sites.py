from __future__ import annotations

from fastapi.testclient import TestClient

from conftest import World


def test_admin_creates_sites_and_lists_are_filtered(client: TestClient, world: World) -> None:
    admin = world.headers(world.user("admin"))
    created = client.post("/api/v1/sites", json={"code": "aire-nord", "name": "Aire du Nord"}, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["code"] == "aire-nord"
    client.post("/api/v1/sites", json={"code": "aire-sud", "name": "Aire du Sud"}, headers=admin)
    taken = client.post("/api/v1/sites", json={"code": "aire-nord", "name": "X"}, headers=admin)
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "site.code_taken"
    assert "aire-nord" in taken.json()["error"]["message"]
    invalid = client.post("/api/v1/sites", json={"code": "Aire Nord!", "name": "X"}, headers=admin)
    assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "site.invalid_code"

    assert [s["code"] for s in client.get("/api/v1/sites", headers=admin).json()] == ["aire-nord", "aire-sud"]
    from terrain.sites.models import Site

    nord = world.session.get(Site, created.json()["id"])
    assert nord is not None
    fieldworker = world.user("fieldworker", sites=(nord,))
    visible = client.get("/api/v1/sites", headers=world.headers(fieldworker)).json()
    assert [s["code"] for s in visible] == ["aire-nord"]
    assert client.get("/api/v1/sites", headers=world.headers(world.user("viewer"))).json() == []
