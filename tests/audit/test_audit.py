from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from conftest import SPEC_ESSAI, TEST_PASSWORD, World
from terrain.audit import service


def test_audit_log_lists_actions_newest_first(client: TestClient, world: World) -> None:
    admin = world.user("admin", email="admin@example.org")
    client.post("/api/v1/auth/token", data={"username": "admin@example.org", "password": TEST_PASSWORD})
    headers = world.headers(admin)
    client.post("/api/v1/specs/essai/publish", json={"source": SPEC_ESSAI}, headers=headers)
    client.post("/api/v1/specs/essai/versions/1/close", headers=headers)
    entries = client.get("/api/v1/audit", headers=headers).json()
    actions = [entry["action"] for entry in entries]
    assert actions == ["spec.closed", "spec.published", "auth.login"]
    assert entries[0]["actor_user_id"] == admin.id
    assert entries[0]["target_type"] == "spec" and entries[0]["target_id"] == "essai"
    assert entries[2]["ip"]
    filtered = client.get("/api/v1/audit?action=spec.published", headers=headers).json()
    assert [entry["action"] for entry in filtered] == ["spec.published"]


def test_audit_refuses_secrets_in_details(session: Session) -> None:
    with pytest.raises(ValueError):
        service.record("user.created", session=session, details={"password": "x"})
