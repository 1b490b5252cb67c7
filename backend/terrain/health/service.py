"""Health: is the database reachable, and at which migration revision."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from terrain import __version__
from terrain.db import current_revision


def check(*, engine: Engine) -> dict[str, Any]:
    backend = "postgresql" if engine.dialect.name == "postgresql" else engine.dialect.name
    database: dict[str, Any] = {"status": "ok", "backend": backend, "revision": None}
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        database["revision"] = current_revision(engine)
    except Exception:  # any failure is reported as such, without details (no leak)
        database["status"] = "error"
    status = "ok" if database["status"] == "ok" and database["revision"] else "degraded"
    return {"status": status, "version": __version__, "database": database}
