"""A database that stays locked longer than the server waits (a burst of pushes on SQLite, another
process holding the write lock) is overload, not a fault: 503 ``server.busy`` with ``Retry-After``, the
connection kept, and the request succeeds once the lock is gone."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from sync_faults.conftest import MakeDatabase, StartServer
from sync_faults.harness import live

pytestmark = pytest.mark.sync_faults


def test_a_locked_database_answers_503_busy(make_database: MakeDatabase, start_server: StartServer) -> None:
    prepared = make_database("sqlite", "busy")
    server = start_server(prepared.url)
    headers = live.headers(prepared.tokens[0])
    blocker = sqlite3.connect(Path(sa.make_url(prepared.url).database or ""), isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # holds SQLite's write lock
        with server.client(timeout=60, connections=1) as client:
            # A pull writes (its audit entry): it waits SQLite's busy timeout, then gives up.
            busy = client.get("/api/v1/sync/pull", headers=headers)
            assert busy.status_code == 503, busy.text
            assert busy.json()["error"]["code"] == "server.busy"
            assert busy.headers["retry-after"] == "5"
            assert "Réessayez dans 5 secondes" in busy.json()["error"]["message"]
            blocker.execute("ROLLBACK")
            again = client.get("/api/v1/sync/pull", headers=headers)
            assert again.status_code == 200, again.text
    finally:
        blocker.close()
    log = server.log_path.read_text(errors="replace")
    # Answered by the error handler, not re-raised to uvicorn (which would log it and drop the connection):
    # both pulls came over the same connection.
    assert "Exception in ASGI application" not in log and "Traceback" not in log, server.log_tail(60)
    clients = re.findall(r'127\.0\.0\.1:(\d+) - "GET /api/v1/sync/pull HTTP/1\.1" (\d+)', log)
    assert [status for _, status in clients] == ["503", "200"]
    assert len({port for port, _ in clients}) == 1
