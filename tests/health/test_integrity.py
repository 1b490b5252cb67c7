"""Database integrity errors become catalog errors at one place (a race is a 409, never a 500)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from conftest import World
from terrain.db import create_db_engine
from terrain.errors import integrity_error

INSERT_USER = sa.text(
    "INSERT INTO users (email, display_name, password_hash, role, active, language, token_generation, "
    "created_at) VALUES (:email, 'X', 'h', 'viewer', true, 'fr', 0, CURRENT_TIMESTAMP)"
)
INSERT_SITE = sa.text(
    "INSERT INTO sites (code, name, description, created_at) VALUES ('s', 'S', '', CURRENT_TIMESTAMP)"
)


def _violation(db_url: str, statement: sa.TextClause, params: dict[str, str]) -> sa.exc.IntegrityError:
    engine = create_db_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(statement, params)
        with pytest.raises(sa.exc.IntegrityError) as caught, engine.begin() as conn:
            conn.execute(statement, params)
        return caught.value
    finally:
        engine.dispose()


def test_known_unique_violation_has_its_own_code(db_url: str) -> None:
    error = integrity_error(_violation(db_url, INSERT_USER, {"email": "a@example.org"}))
    assert error.code == "user.email_taken" and error.status == 409
    assert "a@example.org" not in str(error.details)  # no personal data from the driver's message


def test_other_violations_are_a_generic_conflict(db_url: str) -> None:
    error = integrity_error(_violation(db_url, INSERT_SITE, {}))
    assert error.code == "db.conflict" and error.status == 409
    assert error.details["constraint"] in ("uq_sites_code", "sites.code")


def test_a_race_reaching_the_database_is_a_409(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service's own check passes (the other request has not committed yet); the unique index
    decides, and the caller gets the catalog error."""
    from terrain.users import service

    admin = world.headers(world.user("admin"))
    world.user("viewer", email="double@example.org")
    real_exec = service.Session.exec
    hidden: list[str] = []

    def blind_exec(self: object, statement: object, *args: object, **kwargs: object) -> object:
        # Hide the existing row from the service's pre-check only, as a concurrent insert would.
        if "users.email =" in str(statement) and "FROM users" in str(statement):
            hidden.append(str(statement))
            return real_exec(self, sa.select(sa.literal(None)).where(sa.false()))  # type: ignore[arg-type]
        return real_exec(self, statement, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service.Session, "exec", blind_exec)
    response = client.post(
        "/api/v1/users",
        json={"email": "double@example.org", "password": "un-mot-de-passe-long", "role": "viewer"},
        headers=admin,
    )
    assert hidden, "the service's pre-check was not bypassed: the test proves nothing"
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "user.email_taken"
