"""Benchmark: pushing realistic records over HTTP, against inserting the very same rows directly.

Run: .venv/bin/python bench/sync_push.py [--n 2000] [--batch 100] [--postgres URL] [--profile]

1. N synthetic records of diagnostic_familles (bench/_synthetic.py: households with repeat blocks of
   members, multiple choices, free text; ~2.2 KB of JSON each) are pushed in batches to a real
   ``terrain serve`` process on 127.0.0.1 (one keep-alive connection, batches one after another).
2. Everything those pushes wrote (responses, response_revisions, response_values, response_files,
   sync_batches, the sync.push audit entries, the change counter) is read back and inserted again into a
   fresh database with plain DB-API ``executemany``, one transaction per batch.
3. Records per second for both, and the ratio. Target: the API at least 30 % of the raw rate on SQLite.

SQLite always; PostgreSQL too with ``--postgres URL`` or TERRAIN_TEST_POSTGRES_URL (two databases are
created next to the one in the URL and dropped afterwards). ``--profile`` also runs the push flow
in-process under cProfile and prints where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import _live
import sqlalchemy as sa

synthetic = _live.synthetic

TABLES = ("responses", "response_revisions", "response_values", "response_files", "sync_batches", "audit_log")


# --- databases -------------------------------------------------------------------------------------


@contextmanager
def databases(backend: str, base: str | None, workdir: Path) -> Iterator[tuple[str, str]]:
    """Two empty databases (API run, raw run) for ``backend``; dropped afterwards."""
    if backend == "sqlite":
        yield _live.sqlite_url(workdir / "api.db"), _live.sqlite_url(workdir / "raw.db")
        return
    assert base is not None
    admin = sa.create_engine(sa.make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    names = [f"terrain_bench_{kind}_{os.getpid()}" for kind in ("api", "raw")]
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        api, raw = (
            sa.make_url(base).set(database=name).render_as_string(hide_password=False) for name in names
        )
        yield api, raw
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- the API run -----------------------------------------------------------------------------------


def api_run(
    url: str, workdir: Path, batches: list[tuple[str, list[dict[str, Any]]]], warmup: list[dict[str, Any]]
) -> tuple[float, list[float], dict[str, int]]:
    prepared = _live.prepare(url, devices=1)
    server = _live.Live.start(url, workdir / "servers", name=f"bench-{uuid.uuid4().hex[:6]}")
    token = prepared.tokens[0]
    counts: dict[str, int] = defaultdict(int)
    latencies = []
    try:
        with server.client(timeout=300, connections=1) as client:
            # First push of the process: builds the spec's validation index (kept afterwards).
            answer = _live.push(client, token, warmup)
            assert answer.status_code == 200, answer.text[:500]
            started = time.perf_counter()
            for batch_id, records in batches:
                sent = time.perf_counter()
                answer = _live.push(client, token, records, batch_id)
                latencies.append(time.perf_counter() - sent)
                assert answer.status_code == 200, answer.text[:500]
                for kind, number in answer.json()["counts"].items():
                    counts[kind] += number
            elapsed = time.perf_counter() - started
    finally:
        server.stop()
    return elapsed, latencies, dict(counts)


# --- reading back what the pushes wrote ----------------------------------------------------------


Rows = dict[str, tuple[list[str], list[tuple[Any, ...]]]]


def read_back(url: str, batches: list[tuple[str, list[dict[str, Any]]]]) -> list[Rows]:
    """For each batch, every row the push wrote, as the driver returns it."""
    engine = sa.create_engine(url)
    per_batch: list[Rows] = []
    try:
        with engine.connect() as conn:
            for batch_id, records in batches:
                uuids = [record["id"] for record in records]
                rows: Rows = {}
                rows["responses"] = _raw(conn, "SELECT * FROM responses WHERE uuid IN ({})", uuids)
                ids = [row[0] for row in rows["responses"][1]]
                for table in ("response_revisions", "response_values", "response_files"):
                    rows[table] = _raw(conn, f"SELECT * FROM {table} WHERE response_id IN ({{}})", ids)
                rows["sync_batches"] = _raw(
                    conn, "SELECT * FROM sync_batches WHERE batch_uuid IN ({})", [batch_id]
                )
                rows["audit_log"] = _raw(
                    conn,
                    "SELECT * FROM audit_log WHERE action = 'sync.push' AND target_id IN ({})",
                    [batch_id],
                )
                per_batch.append(rows)
    finally:
        engine.dispose()
    return per_batch


def _raw(conn: sa.Connection, sql: str, values: list[Any]) -> tuple[list[str], list[tuple[Any, ...]]]:
    if not values:
        return [], []
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql.format(", ".join([mark] * len(values))), values)
        columns = [entry[0] for entry in cursor.description]
        return columns, [tuple(row) for row in cursor.fetchall()]
    finally:
        cursor.close()


# --- the raw run -----------------------------------------------------------------------------------


def raw_run(url: str, per_batch: list[Rows]) -> float:
    """The same rows, inserted with DB-API executemany, one transaction per batch (plus the change
    counter, which every push increments)."""
    _live.prepare(url, devices=1)  # same sites, user, device token and spec ids as the API database
    engine = sa.create_engine(url)
    postgres = engine.dialect.name == "postgresql"
    mark = "%s" if postgres else "?"
    if postgres:
        from psycopg.types.json import Json

        def adapt(value: Any) -> Any:
            return Json(value) if isinstance(value, dict | list) else value

    try:
        connection = engine.raw_connection()
        try:
            statements = {}
            for table in TABLES:
                columns = next((rows[table][0] for rows in per_batch if rows[table][0]), [])
                statements[table] = (
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
                )
            if postgres:  # JSON values come back decoded from psycopg: wrap them again for the insert
                per_batch = [
                    {
                        table: (cols, [tuple(adapt(v) for v in row) for row in data])
                        for table, (cols, data) in rows.items()
                    }
                    for rows in per_batch
                ]
            started = time.perf_counter()
            for rows in per_batch:
                cursor = connection.cursor()
                for table in TABLES:
                    data = rows[table][1]
                    if data:
                        cursor.executemany(statements[table], data)
                cursor.execute("UPDATE sync_counter SET value = value + 1 WHERE id = 1")
                cursor.close()
                connection.commit()
            elapsed = time.perf_counter() - started
        finally:
            connection.close()
    finally:
        engine.dispose()
    return elapsed


def compare_counts(api_url: str, raw_url: str) -> dict[str, tuple[int, int]]:
    out = {}
    for table in TABLES[:5]:
        sql = f"SELECT count(*) FROM {table}"
        out[table] = (_live.count(api_url, sql), _live.count(raw_url, sql))
    return out


# --- profile ---------------------------------------------------------------------------------------

AREAS = (
    (
        "validation, calculations (responses/validation.py, expressions)",
        ("responses/validation.py", "expressions/"),
    ),
    ("flattening (responses/values.py)", ("responses/values.py",)),
    ("storage service (responses/service.py)", ("responses/service.py",)),
    ("sync flow (flows/sync_push.py, sync/)", ("flows/sync_push.py", "terrain/sync/")),
    ("SQLAlchemy / SQLModel ORM and Core", ("sqlalchemy/", "sqlmodel/")),
    ("database driver (sqlite3, psycopg)", ("sqlite3", "psycopg")),
    ("pydantic (envelope parsing, models)", ("pydantic",)),
    ("json", ("json/",)),
)


def profile(url: str, workdir: Path, records: list[dict[str, Any]], batch: int) -> None:
    """cProfile around ``terrain.flows.sync_push.push`` called in-process, batch after batch."""
    from sqlmodel import Session

    from terrain.auth.service import authenticate_bearer
    from terrain.config import Settings
    from terrain.db import create_db_engine
    from terrain.flows import sync_push
    from terrain.sync.schemas import PushIn

    prepared = _live.prepare(url, devices=1)
    settings = Settings(environment="test", database_url=url, data_dir=workdir, secret_key=_live.SECRET)  # type: ignore[arg-type]
    engine = create_db_engine(url)

    def push(chunk: list[dict[str, Any]]) -> None:
        with Session(engine, expire_on_commit=False) as session:
            actor = authenticate_bearer(prepared.tokens[0], session=session, settings=settings)
            body = PushIn(records=chunk, batch_id=str(uuid.uuid4()))
            sync_push.push(body, session=session, actor=actor, settings=settings, lang="fr", ip=None)
            session.commit()

    push(records[:batch])  # warm-up: the validation index
    profiler = cProfile.Profile()
    chunks = [records[k : k + batch] for k in range(batch, len(records), batch)]
    started = time.perf_counter()
    profiler.enable()
    for chunk in chunks:
        push(chunk)
    profiler.disable()
    elapsed = time.perf_counter() - started
    engine.dispose()
    stats = pstats.Stats(profiler)
    total = sum(entry[2] for entry in stats.stats.values())  # type: ignore[attr-defined]
    areas: dict[str, float] = defaultdict(float)
    for (filename, _, name), entry in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{filename}:{name}"
        area = next((label for label, keys in AREAS if any(key in where for key in keys)), "other")
        areas[area] += entry[2]  # own time of the function
    print(f"\nprofile: {sum(len(c) for c in chunks)} records in-process, {elapsed:.2f} s under cProfile")
    for area, seconds in sorted(areas.items(), key=lambda item: -item[1]):
        print(f"  {100 * seconds / total:5.1f} %  {area}")
    print("  top functions by cumulative time:")
    stats.sort_stats("cumulative").print_stats(r"terrain/", 14)


# --- main ------------------------------------------------------------------------------------------


def run(backend: str, base: str | None, n: int, batch: int, workdir: Path) -> dict[str, float]:
    records = synthetic.records(n, sites=["aire-nord", "aire-sud"], seed=7, invalid_every=40)
    warmup = synthetic.records(20, sites=["aire-nord"], seed=8)
    batches = [(str(uuid.uuid4()), records[k : k + batch]) for k in range(0, n, batch)]
    with databases(backend, base, workdir / backend) as (api_url, raw_url):
        (workdir / backend).mkdir(parents=True, exist_ok=True)
        api_seconds, latencies, counts = api_run(api_url, workdir / backend, batches, warmup)
        per_batch = read_back(api_url, batches)
        raw_seconds = raw_run(raw_url, per_batch)
        same = compare_counts(api_url, raw_url)
    values = sum(len(rows["response_values"][1]) for rows in per_batch)
    api_rate, raw_rate = n / api_seconds, n / raw_seconds
    print(f"\n== {backend}: {n} records in {len(batches)} batches of {batch}")
    print(f"   results: {dict(sorted(counts.items()))}; {values} value rows ({values / n:.1f} per record)")
    print(f"   rows written (API db, raw db, incl. warm-up in API): {same}")
    median, slowest = statistics.median(latencies) * 1000, max(latencies) * 1000
    print(
        f"   API : {api_seconds:7.2f} s  {api_rate:8.1f} records/s  "
        f"(batch latency median {median:.0f} ms, max {slowest:.0f} ms)"
    )
    print(
        f"   raw : {raw_seconds:7.2f} s  {raw_rate:8.1f} records/s  (executemany, one transaction per batch)"
    )
    print(f"   API / raw = {100 * api_rate / raw_rate:.1f} %")
    return {"api": api_rate, "raw": raw_rate}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--postgres", default=os.environ.get("TERRAIN_TEST_POSTGRES_URL"))
    parser.add_argument(
        "--profile", action="store_true", help="also profile the push flow in-process (SQLite)"
    )
    args = parser.parse_args()
    if not 1 <= args.n <= 100_000 or not 1 <= args.batch <= 500:
        parser.error("--n: 1 to 100000, --batch: 1 to 500")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, load average {os.getloadavg()[0]:.1f}"
    )
    sample = synthetic.records(200, sites=["aire-nord"], seed=7)
    print(f"records: {synthetic.json_size(sample):.0f} bytes of JSON each on average")
    workdir = Path(tempfile.mkdtemp(prefix="terrain-bench-sync-"))
    try:
        run("sqlite", None, args.n, args.batch, workdir)
        if args.postgres:
            run("postgresql", args.postgres, args.n, args.batch, workdir)
        else:
            print("\n(PostgreSQL skipped: give --postgres URL or set TERRAIN_TEST_POSTGRES_URL)")
        if args.profile:
            records = synthetic.records(
                min(args.n, 1000), sites=["aire-nord", "aire-sud"], seed=9, invalid_every=40
            )
            profile(_live.sqlite_url(workdir / "profile.db"), workdir, records, args.batch)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
