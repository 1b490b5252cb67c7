"""Shared fixtures: databases (SQLite always, PostgreSQL when TERRAIN_TEST_POSTGRES_URL is set), sessions,
the FastAPI test client and helpers to create sites, users and tokens.

Every test that uses ``db_url`` (directly or through ``session``/``client``/``world``) runs once per
database and is marked ``db``. Databases are migrated with the real Alembic migrations: SQLite from a
migrated template file copied per test, PostgreSQL as one database per xdist worker truncated between
tests.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from terrain.auth.service import hash_password, issue_access_token
from terrain.config import Settings
from terrain.db import create_db_engine, migrate
from terrain.main import create_app
from terrain.sites.models import Site
from terrain.users.models import User, UserSite

PG_ENV = "TERRAIN_TEST_POSTGRES_URL"
PG_SKIP_REASON = "TERRAIN_TEST_POSTGRES_URL not set: PostgreSQL tests skipped"
TEST_SECRET = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
TEST_PASSWORD = "motdepasse-de-test"
TABLES = (
    "login_failures",
    "sync_batches",
    "response_files",
    "response_values",
    "response_revisions",
    "responses",
    "attachments",
    "audit_log",
    "device_tokens",
    "spec_sites",
    "spec_versions",
    "specs",
    "user_sites",
    "sites",
    "users",
)

SPEC_ESSAI = """\
spec: 1
kind: questionnaire
name: essai
title: {fr: "Essai", en: "Trial"}
languages: [fr, en]
items:
  - {name: age, type: integer, label: "Âge", constraint: ". >= 0 and . < 130"}
  - {name: scolarise, type: yes_no, label: "Scolarisé ?", relevant: "${age} >= 3"}
"""

# Same spec plus one optional item: a compatible change.
SPEC_ESSAI_V2 = SPEC_ESSAI + '  - {name: remarque, type: text, label: "Remarque"}\n'

# The item "age" removed: a breaking change.
SPEC_ESSAI_BREAKING = """\
spec: 1
kind: questionnaire
name: essai
title: {fr: "Essai", en: "Trial"}
languages: [fr, en]
items:
  - {name: scolarise, type: yes_no, label: "Scolarisé ?"}
"""

SPEC_INVALID = """\
spec: 1
kind: questionnaire
name: essai
title: {fr: "Essai"}
items:
  - {name: age, type: integer, label: "Âge", relevant: "${inconnu} > 3"}
"""


def spec_named(name: str, source: str = SPEC_ESSAI) -> str:
    return source.replace("name: essai", f"name: {name}")


# --- databases ---------------------------------------------------------------------------------


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "db_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "terrain.db"
    migrate(f"sqlite:///{path}")
    return path


def admin_url(url: str) -> sa.URL:
    """The URL of the PostgreSQL maintenance database on the same server."""
    return sa.make_url(url).set(database="postgres")


def create_pg_database(base_url: str, name: str) -> str:
    engine = sa.create_engine(admin_url(base_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return sa.make_url(base_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(base_url: str, name: str) -> None:
    engine = sa.create_engine(admin_url(base_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_base_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(PG_SKIP_REASON)
    return url


@pytest.fixture(scope="session")
def pg_worker_url(pg_base_url: str) -> Iterator[str]:
    name = f"terrain_test_{_worker()}_{os.getpid()}"
    url = create_pg_database(pg_base_url, name)
    migrate(url)
    yield url
    drop_pg_database(pg_base_url, name)


@pytest.fixture
def fresh_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """An empty, unmigrated database per test: ``(backend, url)`` (for migration tests)."""
    backend = request.param if hasattr(request, "param") else "sqlite"
    if backend == "sqlite":
        yield backend, f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    base = request.getfixturevalue("pg_base_url")
    name = f"terrain_fresh_{_worker()}_{uuid.uuid4().hex[:8]}"
    url = create_pg_database(base, name)
    yield backend, url
    drop_pg_database(base, name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database for this test."""
    if request.param == "sqlite":
        path = tmp_path / "terrain.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_worker_url")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()
    return url


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=db_url,
        data_dir=tmp_path,
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[sa.Engine]:
    engine = create_db_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: sa.Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


# --- world: sites, users, tokens ---------------------------------------------------------------

_password_hash: str | None = None


def test_password_hash() -> str:
    global _password_hash
    if _password_hash is None:
        _password_hash = hash_password(TEST_PASSWORD)
    return _password_hash


@dataclass
class World:
    """Helpers writing directly to the test database."""

    session: Session
    settings: Settings

    def site(self, code: str, name: str | None = None) -> Site:
        site = Site(code=code, name=name or code.title())
        self.session.add(site)
        self.session.commit()
        return site

    def user(
        self,
        role: str,
        *,
        sites: tuple[Site, ...] = (),
        email: str | None = None,
        active: bool = True,
        language: str = "fr",
    ) -> User:
        user = User(
            email=email or f"{role}-{uuid.uuid4().hex[:6]}@example.org",
            display_name=role,
            password_hash=test_password_hash(),
            role=role,
            active=active,
            language=language,
        )
        self.session.add(user)
        self.session.flush()
        for site in sites:
            assert site.id is not None and user.id is not None
            self.session.add(UserSite(user_id=user.id, site_id=site.id))
        self.session.commit()
        return user

    def token(self, user: User) -> str:
        return issue_access_token(user, settings=self.settings).access_token

    def headers(self, user: User, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}", **extra}


@pytest.fixture
def world(session: Session, settings: Settings) -> World:
    return World(session=session, settings=settings)
