from __future__ import annotations

import pytest
import sqlalchemy as sa

from terrain.db import create_db_engine, current_revision, downgrade, migrate

HEAD = "0003_responses_sync"
EXPECTED_TABLES = {
    "users",
    "sites",
    "user_sites",
    "specs",
    "spec_versions",
    "spec_sites",
    "device_tokens",
    "audit_log",
    "responses",
    "response_revisions",
    "response_values",
    "response_files",
    "attachments",
    "sync_counter",
    "sync_batches",
    "login_failures",
}


@pytest.mark.db
@pytest.mark.parametrize("fresh_db_url", ["sqlite", "postgresql"], indirect=True)
def test_upgrade_downgrade_upgrade(fresh_db_url: tuple[str, str]) -> None:
    backend, url = fresh_db_url
    engine = create_db_engine(url)
    try:
        migrate(url)
        assert current_revision(engine) == HEAD
        assert set(sa.inspect(engine).get_table_names()) >= EXPECTED_TABLES
        downgrade(url, "base")
        assert current_revision(engine) is None
        assert not EXPECTED_TABLES & set(sa.inspect(engine).get_table_names())
        migrate(url)
        assert current_revision(engine) == HEAD
        assert engine.dialect.name == backend
    finally:
        engine.dispose()


def test_sqlite_pragmas(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    engine = create_db_engine(f"sqlite:///{tmp_path / 'sub' / 'x.db'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()


def test_constraints_enforced(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO user_sites (user_id, site_id) VALUES (999, 999)"))
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO specs (name, kind, title, created_at) VALUES "
                    "('s', 'questionnaire', '{}', CURRENT_TIMESTAMP)"
                )
            )
            spec_id = conn.execute(sa.text("SELECT id FROM specs")).scalar()
        insert_draft = sa.text(
            "INSERT INTO spec_versions (spec_id, status, source_yaml, compiled, content_hash, created_at) "
            "VALUES (:spec, 'draft', '', '{}', 'h', CURRENT_TIMESTAMP)"
        )
        with engine.begin() as conn:
            conn.execute(insert_draft, {"spec": spec_id})
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(insert_draft, {"spec": spec_id})  # one draft per spec
    finally:
        engine.dispose()


@pytest.mark.db
@pytest.mark.parametrize("fresh_db_url", ["sqlite", "postgresql"], indirect=True)
def test_token_generation_migration_keeps_users(fresh_db_url: tuple[str, str]) -> None:
    """0002 on a database holding users: they keep their rows and start at generation 0; downgrading
    keeps them too."""
    _backend, url = fresh_db_url
    engine = create_db_engine(url)
    insert = sa.text(
        "INSERT INTO users (email, display_name, password_hash, role, active, language, created_at) "
        "VALUES (:email, 'X', 'h', 'fieldworker', true, 'fr', CURRENT_TIMESTAMP)"
    )
    try:
        migrate(url, "0001_initial")
        with engine.begin() as conn:
            conn.execute(insert, {"email": "a@example.org"})
        migrate(url)
        with engine.begin() as conn:
            rows = conn.execute(sa.text("SELECT email, token_generation FROM users")).all()
        assert [tuple(row) for row in rows] == [("a@example.org", 0)]
        downgrade(url, "0001_initial")
        with engine.begin() as conn:
            assert conn.execute(sa.text("SELECT email FROM users")).scalars().all() == ["a@example.org"]
    finally:
        engine.dispose()
