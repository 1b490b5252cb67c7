"""Instruments of the sync fault tests: real ``terrain serve`` processes and the prepared database
(bench/_live.py, shared with the sync benchmarks), realistic records (bench/_synthetic.py), what the
database holds read straight from it, the exactly-once check, concurrent pushers and a client that hangs
up before the answer."""

from __future__ import annotations

import importlib.util
import json
import re
import socket
import struct
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

from terrain.db import create_db_engine
from terrain.responses.validation import check_response
from terrain.responses.values import flatten_answers, index_for
from terrain.specs.service import compile_source

T = TypeVar("T")

BENCH = Path(__file__).resolve().parents[2] / "bench"
PUSH_RESULTS = {"created", "duplicate", "revised", "conflict", "needs_review", "rejected"}
STORED_FIRST = {"created", "needs_review"}  # what a record's first storing answers


def _load(name: str) -> Any:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


live = _load("_live")
synthetic = live.synthetic
Live = live.Live
Prepared = live.Prepared
prepare = live.prepare
push = live.push
push_body = live.push_body


# --- what the database holds -----------------------------------------------------------------------

# Everything a push writes, keyed by the record's UUID (row ids and change numbers depend on the order
# concurrent transactions committed in, the content must not).
STATE_QUERIES = {
    "responses": "SELECT r.uuid, r.revision, r.base_revision, r.status, r.content_hash, r.version, "
    "r.kind, r.site_id, r.author_id FROM responses r",
    "response_revisions": "SELECT r.uuid, v.revision, v.content_hash, v.conflict, v.origin "
    "FROM response_revisions v JOIN responses r ON r.id = v.response_id",
    "response_values": "SELECT r.uuid, v.item, v.repeat, v.instance, v.ordinal, v.value_type, v.value_text, "
    "v.value_num, v.value_long, v.spec_id, v.version, v.site_id "
    "FROM response_values v JOIN responses r ON r.id = v.response_id",
    "response_files": "SELECT r.uuid, f.sha256, f.item, f.media_type, f.size "
    "FROM response_files f JOIN responses r ON r.id = f.response_id",
    "sync_batches": "SELECT batch_uuid, request_hash FROM sync_batches",
}


def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql), params).all()]
    finally:
        engine.dispose()


def state(url: str) -> dict[str, list[tuple[str, ...]]]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table: sorted(tuple(repr(value) for value in row) for row in conn.execute(sa.text(sql)).all())
                for table, sql in STATE_QUERIES.items()
            }
    finally:
        engine.dispose()


def sqlite_integrity(path: Path) -> str:
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            return " ".join(str(row[0]) for row in conn.execute(sa.text("PRAGMA integrity_check")).all())
    finally:
        engine.dispose()


_INDEX: list[Any] = []


def expected_values(record: dict[str, Any]) -> int:
    """How many rows of response_values the server writes for ``record`` (its own functions)."""
    if not _INDEX:
        _INDEX.append(index_for(compile_source(synthetic.spec_source()).compiled))
    checked = check_response(_INDEX[0], record["answers"], metadata=record["metadata"])
    return len(flatten_answers(_INDEX[0], checked.answers))


def assert_exactly_once(url: str, records: Sequence[dict[str, Any]]) -> None:
    """Each record is stored once, with one revision and exactly its value rows; nothing else is."""
    wanted = {record["id"]: record for record in records}
    stored = Counter(uuid for (uuid,) in query(url, "SELECT uuid FROM responses"))
    assert set(stored) == set(wanted), (
        f"missing {len(set(wanted) - set(stored))}, unexpected {len(set(stored) - set(wanted))}"
    )
    assert max(stored.values(), default=1) == 1
    revisions = Counter(
        uuid
        for (uuid,) in query(
            url, "SELECT r.uuid FROM response_revisions v JOIN responses r ON r.id = v.response_id"
        )
    )
    assert revisions == Counter(set(wanted)), "a record has no revision, or more than one"
    values = Counter(
        uuid
        for (uuid,) in query(
            url, "SELECT r.uuid FROM response_values v JOIN responses r ON r.id = v.response_id"
        )
    )
    expected = Counter({uuid: expected_values(record) for uuid, record in wanted.items()})
    wrong = {uuid: (values[uuid], expected[uuid]) for uuid in wanted if values[uuid] != expected[uuid]}
    assert not wrong, (
        f"value rows (stored, expected) differ for {len(wrong)} records: {list(wrong.items())[:3]}"
    )


_SERVER_ERROR = re.compile(r'" 5\d\d |Traceback')


def assert_no_server_error(server: Any) -> None:
    """Nothing in the server's log says a request failed: no 5xx in the access log, no traceback."""
    text = server.log_path.read_text(errors="replace")
    found = _SERVER_ERROR.search(text)
    assert found is None, f"the server logged an error:\n{server.log_tail(60)}"


# --- answers -----------------------------------------------------------------------------------------


def assert_valid_answer(body: dict[str, Any], records: Sequence[dict[str, Any]]) -> None:
    """A push answer that the protocol allows for ``records``: one result per record, in order."""
    assert set(body) >= {"batch_id", "replayed", "results", "counts"}, body.keys()
    results = body["results"]
    assert [result["index"] for result in results] == list(range(len(records)))
    for result, record in zip(results, records, strict=True):
        assert result["id"] == record["id"]
        assert result["result"] in PUSH_RESULTS, result
        assert result["result"] != "rejected", result
        assert result["status"] in ("accepted", "needs_review"), result
        assert result["revision"] == 1
    assert body["counts"] == dict(Counter(result["result"] for result in results))


def first_storings(answers: Sequence[dict[str, Any]]) -> Counter[str]:
    """How many times each record was answered as stored for the first time, over answers that were
    not replays (a replay repeats an earlier answer)."""
    counted: Counter[str] = Counter()
    for body in answers:
        if body["replayed"]:
            continue
        counted.update(result["id"] for result in body["results"] if result["result"] in STORED_FIRST)
    return counted


# --- concurrency -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    status: int
    body: dict[str, Any] | None
    text: str
    elapsed: float


def together(calls: Sequence[Callable[[], T]], *, timeout: float = 180.0) -> list[T]:
    """Run ``calls`` in threads released at the same instant; their values in order (re-raises)."""
    barrier = threading.Barrier(len(calls))
    values: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(position: int, call: Callable[[], T]) -> None:
        try:
            barrier.wait(timeout)
            values[position] = call()
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=item, daemon=True) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), f"a pusher still runs after {timeout} s"
    if errors:
        raise errors[0]
    return values


def pusher(
    server: Any, token: str, records: list[dict[str, Any]], batch_id: str | None
) -> Callable[[], Outcome]:
    def call() -> Outcome:
        with server.client(timeout=120) as client:
            started = time.perf_counter()
            response = push(client, token, records, batch_id)
            elapsed = time.perf_counter() - started
        body = (
            response.json()
            if response.headers.get("content-type", "").startswith("application/json")
            else None
        )
        return Outcome(response.status_code, body, response.text[:2000], elapsed)

    return call


# --- a client that hangs up ------------------------------------------------------------------------


def send_push(port: int, token: str, body: bytes, *, send_bytes: int | None = None) -> socket.socket:
    """Write a push request on a new connection, and nothing else (``send_bytes``: only that much of the
    body, so the server never gets the whole request). The answer is never read: see :func:`hang_up`."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (
        f"POST {live.PUSH_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    sock.sendall(head.encode("latin-1") + (body if send_bytes is None else body[:send_bytes]))
    return sock


def hang_up(sock: socket.socket, *, reset: bool) -> None:
    """Close without reading the answer; ``reset``: abort with a RST (what is unread is dropped)."""
    if reset:  # SO_LINGER on, 0 s
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def wait_until(condition: Callable[[], bool], *, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"still waiting after {timeout} s: {what}"
        time.sleep(0.05)


@dataclass
class Batch:
    records: list[dict[str, Any]]
    batch_id: str | None
    answers: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> bytes:
        return push_body(self.records, self.batch_id)


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
