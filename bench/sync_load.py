"""Benchmark: many devices syncing at once, then a summary over 100,000 responses.

Run: .venv/bin/python bench/sync_load.py [--devices 50] [--batches 3] [--batch 100] [--spread 0]
                                          [--responses 100000]

1. Load: one ``terrain serve`` process on SQLite (loopback). ``--devices`` simulated devices (threads, one
   device token and one keep-alive connection each) push ``--batches`` batches of ``--batch`` realistic
   records of diagnostic_familles, one after another; all devices start together (``--spread S``: at
   random moments within S seconds instead). Prints p50/p95/max latency of a push and the error count.
   Targets: p95 < 1 s, zero errors. A device answered 503 ``server.busy`` waits ``Retry-After`` (with
   jitter) and sends the same batch again, as docs/sync-protocol.md says; such answers are counted apart.
2. Summary: the responses and their aggregatable values are copied (plain executemany, new ids) until
   the database holds ``--responses`` responses of diagnostic_familles, half of them under a second
   published version; then the summary of one choice item is timed:
   ``SELECT value_text, count(*) FROM response_values WHERE spec_id=? AND item=? GROUP BY value_text``
   and the same per version. Target: < 100 ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _live
import httpx
import sync_push
from sqlmodel import Session

from terrain.db import create_db_engine
from terrain.principals import SYSTEM
from terrain.specs import service as specs

synthetic = _live.synthetic


# --- 1. load ---------------------------------------------------------------------------------------


MAX_BUSY_RETRIES = 5


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)  # each request, seconds
    batch_times: list[float] = field(default_factory=list)  # each batch until stored, retries included
    busy: int = 0  # 503 server.busy answers (followed by a retry after Retry-After, as the protocol says)
    errors: list[str] = field(default_factory=list)  # anything else, or still busy after the retries
    elapsed: float = 0.0
    # (batch id, records) of each batch answered 200
    stored: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)


def load(prepared: Any, server: Any, *, batches: int, batch: int, spread: float) -> Load:
    devices = len(prepared.tokens)
    work = synthetic.records(devices * batches * batch, sites=prepared.sites, seed=5, invalid_every=40)
    barrier = threading.Barrier(devices + 1)
    out = Load()
    lock = threading.Lock()
    rng = random.Random(5)
    delays = [rng.uniform(0, spread) for _ in range(devices)]

    def device(index: int) -> None:
        mine = work[index * batches * batch : (index + 1) * batches * batch]
        jitter = random.Random(index)
        with server.client(timeout=300, connections=1) as client:
            barrier.wait()
            time.sleep(delays[index])
            for k in range(batches):
                records, batch_id = mine[k * batch : (k + 1) * batch], str(uuid.uuid4())
                first = time.perf_counter()
                for attempt in range(MAX_BUSY_RETRIES + 1):
                    started = time.perf_counter()
                    failure, wait = None, 0.0
                    try:
                        answer = _live.push(client, prepared.tokens[index], records, batch_id)
                        if answer.status_code == 503 and attempt < MAX_BUSY_RETRIES:
                            wait = float(answer.headers.get("retry-after", "5")) * jitter.uniform(1.0, 1.5)
                        elif answer.status_code != 200:
                            failure = f"{answer.status_code} {answer.text[:200]}"
                        else:
                            with lock:
                                out.stored.append((batch_id, records))
                    except httpx.HTTPError as exc:  # a transport failure is an error to count, not to hide
                        failure = f"{type(exc).__name__}: {exc}"
                    with lock:
                        out.latencies.append(time.perf_counter() - started)
                        out.busy += wait > 0
                        if failure:
                            out.errors.append(failure)
                    if not wait:
                        break
                    time.sleep(wait)
                with lock:
                    out.batch_times.append(time.perf_counter() - first)

    threads = [threading.Thread(target=device, args=(index,), daemon=True) for index in range(devices)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    out.elapsed = time.perf_counter() - started
    return out


def floor(url: str, workdir: Path, result: Load, *, devices: int, batch: int) -> None:
    """The lower bound a burst can reach on this machine, measured in the same run: the rows the pushes
    wrote, inserted again with plain executemany (no HTTP, no validation, no concurrency), one batch after
    another. When every device sends at once, the last of its batches cannot be stored before
    ``devices * batch / raw rate`` seconds, whatever the server does."""
    if not result.stored:
        return
    per_batch = sync_push.read_back(url, result.stored)
    count = sum(len(records) for _, records in result.stored)
    seconds = sync_push.raw_run(_live.sqlite_url(workdir / "floor.db"), per_batch)
    rate = count / seconds
    burst = devices * batch
    print(
        f"   floor: the same {count} records as plain executemany, no HTTP and no validation: "
        f"{rate:.0f} records/s; one batch from each of the {devices} devices at once ({burst} records) "
        f"needs at least {burst / rate:.1f} s of writing, so a burst's p95 is at least "
        f"{0.95 * burst / rate:.1f} s on this machine (API at {count / result.elapsed / rate:.0%} of it)"
    )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# --- 2. fill and summarise ------------------------------------------------------------------------


def publish_second_version(url: str) -> tuple[int, int]:
    """A compatible second version of diagnostic_familles (one optional item more): (spec id, its
    spec_version id)."""
    source = synthetic.spec_source().rstrip() + (
        '\n\n  - {name: suivi_prevu, type: yes_no, label: {fr: "Suivi prévu ?", en: "Follow-up planned?"}}\n'
    )
    engine = create_db_engine(url)
    try:
        with Session(engine) as session:
            published = specs.publish(synthetic.SPEC_NAME, session=session, actor=SYSTEM, source=source)
            session.commit()
            assert published.version.version == 2 and published.version.id is not None
            return published.spec.id or 0, published.version.id
    finally:
        engine.dispose()


def fill(path: Path, target: int, version_2_id: int) -> tuple[int, float]:
    """Copy the pushed responses and their value rows (new ids and UUIDs) until ``target`` responses;
    every other copy is filed under version 2. Plain sqlite3 executemany, 2,000 responses per
    transaction. Returns (responses added, seconds)."""
    conn = sqlite3.connect(path)
    try:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(responses)")]
        value_columns = [
            row[1] for row in conn.execute("PRAGMA table_info(response_values)") if row[1] != "id"
        ]
        sources = conn.execute("SELECT * FROM responses ORDER BY id").fetchall()
        values: dict[int, list[tuple[Any, ...]]] = {}
        for row in conn.execute(f"SELECT response_id, {', '.join(value_columns)} FROM response_values"):
            values.setdefault(row[0], []).append(row[1:])
        have = len(sources)
        next_id = conn.execute("SELECT max(id) FROM responses").fetchone()[0] + 1
        position = {name: index for index, name in enumerate(columns)}
        value_position = {name: index for index, name in enumerate(value_columns)}
        insert_response = (
            f"INSERT INTO responses ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        )
        insert_value = (
            f"INSERT INTO response_values ({', '.join(value_columns)}) "
            f"VALUES ({', '.join('?' * len(value_columns))})"
        )
        started = time.perf_counter()
        added = 0
        while have + added < target:
            chunk_rows, chunk_values = [], []
            for _ in range(min(2000, target - have - added)):
                source = list(sources[added % len(sources)])
                old_id = source[0]
                source[position["id"]] = next_id
                source[position["uuid"]] = str(uuid.uuid4())
                second = added % 2 == 0
                if second:
                    source[position["version"]] = 2
                    source[position["spec_version_id"]] = version_2_id
                chunk_rows.append(tuple(source))
                for value in values.get(old_id, []):
                    copied = list(value)
                    copied[value_position["response_id"]] = next_id
                    if second:
                        copied[value_position["version"]] = 2
                    chunk_values.append(tuple(copied))
                next_id += 1
                added += 1
            conn.executemany(insert_response, chunk_rows)
            conn.executemany(insert_value, chunk_values)
            conn.commit()
        return added, time.perf_counter() - started
    finally:
        conn.close()


def timed(
    conn: sqlite3.Connection, sql: str, params: tuple[Any, ...], runs: int = 5
) -> tuple[float, float, int]:
    """(first run, median of ``runs``) in ms, and the number of result rows."""
    times = []
    rows: list[Any] = []
    for _ in range(runs):
        started = time.perf_counter()
        rows = conn.execute(sql, params).fetchall()
        times.append((time.perf_counter() - started) * 1000)
    return times[0], statistics.median(times), len(rows)


def summaries(path: Path, spec_id: int) -> None:
    conn = sqlite3.connect(path)
    try:
        total = conn.execute("SELECT count(*) FROM responses WHERE spec_id = ?", (spec_id,)).fetchone()[0]
        rows = conn.execute("SELECT count(*) FROM response_values").fetchone()[0]
        size = path.stat().st_size / 2**20
        print(
            f"\n== summary: {total} responses of diagnostic_familles, {rows} value rows, {size:.0f} MiB file"
        )
        queries = {
            "by value": "SELECT value_text, count(*) FROM response_values WHERE spec_id = ? AND item = ? "
            "GROUP BY value_text",
            "by version and value": "SELECT version, value_text, count(*) FROM response_values "
            "WHERE spec_id = ? AND item = ? GROUP BY version, value_text",
        }
        for item, what in (
            ("composition", "one per response"),
            ("tranche_age", "one per member, in a repeat"),
        ):
            count = conn.execute(
                "SELECT count(*) FROM response_values WHERE spec_id = ? AND item = ?", (spec_id, item)
            ).fetchone()[0]
            for label, sql in queries.items():
                first, median, groups = timed(conn, sql, (spec_id, item))
                print(
                    f"   {item:<12} ({what}, {count} rows) {label:<21}: first {first:6.1f} ms, "
                    f"median of 5 {median:6.1f} ms ({groups} groups)"
                )
        plan = conn.execute("EXPLAIN QUERY PLAN " + queries["by version and value"], (spec_id, "composition"))
        print("   plan (per version):", "; ".join(str(row[-1]) for row in plan.fetchall()))
    finally:
        conn.close()


# --- main ------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument(
        "--spread", type=float, default=0.0, help="start the devices within this many seconds"
    )
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the database and server log (path printed)")
    args = parser.parse_args()
    if not (1 <= args.devices <= 500 and 1 <= args.batches <= 20 and 1 <= args.batch <= 500):
        parser.error("--devices 1-500, --batches 1-20, --batch 1-500")
    if not 0 <= args.responses <= 1_000_000 or not 0 <= args.spread <= 3600:
        parser.error("--responses 0-1000000, --spread 0-3600")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, load average {os.getloadavg()[0]:.1f}"
    )
    workdir = Path(tempfile.mkdtemp(prefix="terrain-bench-load-"))
    try:
        path = workdir / "load.db"
        url = _live.sqlite_url(path)
        prepared = _live.prepare(url, devices=args.devices)
        server = _live.Live.start(url, workdir / "servers")
        try:
            result = load(prepared, server, batches=args.batches, batch=args.batch, spread=args.spread)
        finally:
            server.stop()
        records = args.devices * args.batches * args.batch
        print(
            f"\n== load: {args.devices} devices x {args.batches} batches of {args.batch} records "
            f"(start spread {args.spread:.0f} s), one server process, SQLite"
        )
        p50, p95, slowest = (1000 * percentile(result.latencies, q) for q in (0.5, 0.95, 1.0))
        print(
            f"   {len(result.latencies)} requests in {result.elapsed:.1f} s "
            f"({records / result.elapsed:.0f} records/s); latency p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
            f"max {slowest:.0f} ms"
        )
        p50, p95, slowest = (1000 * percentile(result.batch_times, q) for q in (0.5, 0.95, 1.0))
        print(
            f"   batch stored after (retries included): p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
            f"max {slowest:.0f} ms"
        )
        print(
            f"   503 server.busy answers (retried after Retry-After): {result.busy}; "
            f"errors: {len(result.errors)}"
        )
        for error in sorted(set(result.errors))[:5]:
            print(f"   error: {error}")
        stored = _live.count(url, "SELECT count(*) FROM responses")
        print(f"   responses stored: {stored} (expected {records - len(result.errors) * args.batch})")
        floor(url, workdir, result, devices=args.devices, batch=args.batch)
        if args.responses > stored:
            spec_id, version_2 = publish_second_version(url)
            added, seconds = fill(path, args.responses, version_2)
            print(f"\n== fill: {added} responses copied in {seconds:.1f} s (executemany)")
            summaries(path, spec_id)
    finally:
        if args.keep:
            print(f"\nkept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
