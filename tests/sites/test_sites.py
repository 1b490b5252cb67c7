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


def test_admin_renames_a_site_whose_code_stays(client: TestClient, world: World) -> None:
    admin = world.headers(world.user("admin"))
    client.post("/api/v1/sites", json={"code": "aire-nord", "name": "Aire du Nord"}, headers=admin)
    renamed = client.patch("/api/v1/sites/aire-nord", json={"name": "  Aire d'accueil nord "}, headers=admin)
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["code"] == "aire-nord" and renamed.json()["name"] == "Aire d'accueil nord"
    described = client.patch(
        "/api/v1/sites/aire-nord", json={"description": "12 emplacements"}, headers=admin
    )
    assert (
        described.json()["name"] == "Aire d'accueil nord"
        and described.json()["description"] == "12 emplacements"
    )
    listed = client.get("/api/v1/sites", headers=admin).json()
    assert [(s["code"], s["name"]) for s in listed] == [("aire-nord", "Aire d'accueil nord")]

    missing = client.patch("/api/v1/sites/aire-sud", json={"name": "X"}, headers=admin)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "site.not_found"
    empty = client.patch("/api/v1/sites/aire-nord", json={"name": ""}, headers=admin)
    assert empty.status_code == 422
    coordinator = world.headers(world.user("coordinator"))
    assert client.patch("/api/v1/sites/aire-nord", json={"name": "X"}, headers=coordinator).status_code == 403
    actions = [row["action"] for row in client.get("/api/v1/audit", headers=admin).json()]
    assert actions.count("site.updated") == 2
