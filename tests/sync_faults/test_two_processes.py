"""Two server processes on one database (PostgreSQL; SQLite in WAL mode) receive the same batches at the
same moment from several devices: every record ends stored exactly once, every answer is a valid
protocol answer (never a 5xx: a lost race or "database is locked" is retried inside the server), each
record is answered "stored" exactly once across all answers, and each stored batch is audited once."""

from __future__ import annotations

import random
import uuid

import pytest

from sync_faults.conftest import MakeDatabase, StartServer
from sync_faults.harness import (
    assert_exactly_once,
    assert_no_server_error,
    assert_valid_answer,
    first_storings,
    pusher,
    query,
    synthetic,
    together,
)

pytestmark = pytest.mark.sync_faults

BATCHES = 6
BATCH_SIZE = 60
THREADS_PER_SERVER = 4


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_processes_one_database(
    backend: str, make_database: MakeDatabase, start_server: StartServer
) -> None:
    rng = random.Random(4242)
    prepared = make_database(backend, "shared", devices=2)
    records = synthetic.records(BATCHES * BATCH_SIZE, sites=prepared.sites, seed=42, invalid_every=30)
    batches = [records[k * BATCH_SIZE : (k + 1) * BATCH_SIZE] for k in range(BATCHES)]
    # A batch id belongs to one account: each device has its own ids for the same records.
    ids = {
        (k, device): str(uuid.UUID(int=rng.getrandbits(128), version=4))
        for k in range(BATCHES)
        for device in (0, 1)
    }
    servers = [start_server(prepared.url, "first"), start_server(prepared.url, "second")]

    def device_run(thread: int) -> list[tuple[int, int, dict[str, object] | None, str]]:
        """One device: every batch, in its own order, half of the threads with batch ids."""
        server = servers[thread % 2]
        device = (thread // 2) % 2
        order = list(range(BATCHES))
        random.Random(thread).shuffle(order)
        out = []
        for k in order:
            batch_id = ids[(k, device)] if thread % 4 < 2 else None
            outcome = pusher(server, prepared.tokens[device], batches[k], batch_id)()
            out.append((k, outcome.status, outcome.body, outcome.text))
        return out

    runs = together([lambda thread=thread: device_run(thread) for thread in range(2 * THREADS_PER_SERVER)])
    answers = [entry for run in runs for entry in run]
    assert len(answers) == 2 * THREADS_PER_SERVER * BATCHES
    failed = [(status, text[:500]) for _, status, _, text in answers if status != 200]
    assert not failed, failed
    bodies = []
    for k, _, body, _ in answers:
        assert body is not None
        assert_valid_answer(body, batches[k])
        bodies.append(body)
    # Across both processes, each record was answered "created"/"needs_review" once; every other
    # answer for it says duplicate (or repeats that first answer, for a replayed batch id).
    assert first_storings(bodies) == {record["id"]: 1 for record in records}
    assert_exactly_once(prepared.url, records)
    audited = query(prepared.url, "SELECT count(*) FROM audit_log WHERE action = 'sync.push'")[0][0]
    assert audited == sum(1 for body in bodies if not body["replayed"])
    used_ids = {body["batch_id"] for body in bodies if body["batch_id"]}
    assert {batch for (batch,) in query(prepared.url, "SELECT batch_uuid FROM sync_batches")} == used_ids
    for server in servers:
        assert server.alive()
        assert_no_server_error(server)
