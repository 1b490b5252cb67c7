"""The models and the migrations describe the same schema: Alembic's autogenerate comparison between a
migrated database and the models' metadata finds nothing to do, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import terrain.main  # noqa: F401  (imports every domain's models into the metadata)
from terrain.db import create_db_engine, migrate


@pytest.mark.db
@pytest.mark.parametrize("fresh_db_url", ["sqlite", "postgresql"], indirect=True)
def test_autogenerate_finds_no_difference(fresh_db_url: tuple[str, str]) -> None:
    _backend, url = fresh_db_url
    migrate(url)
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert differences == [], "models and migrations disagree: write a migration (or fix the model)"
