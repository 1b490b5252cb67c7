"""The server process is killed (SIGKILL: no shutdown, no rollback) while large batches are being pushed,
at seeded random moments, and restarted on the same SQLite file. After each crash: the database is intact,
every batch is all or nothing (a batch whose answer was received is stored whole; records of a batch
that was not stored are absent unless another stored batch carried them) and audited once if stored.
In the end everything is pushed again: each record stored exactly once, answered batches replayed."""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from sync_faults.conftest import MakeDatabase, StartServer
from sync_faults.harness import (
    Batch,
    assert_exactly_once,
    assert_no_server_error,
    assert_valid_answer,
    push,
    query,
    sqlite_integrity,
    synthetic,
)

pytestmark = pytest.mark.sync_faults

SEED = 20261120
BATCHES = 6
NEW_PER_BATCH = 400
REPEATS_PER_BATCH = 100  # records of earlier batches sent again (a device resending what it is unsure of)
ROUNDS = 3


def _batches(rng: random.Random, sites: list[str]) -> list[Batch]:
    pool = synthetic.records(BATCHES * NEW_PER_BATCH, sites=sites, seed=SEED, invalid_every=40)
    batches = []
    for k in range(BATCHES):
        records = pool[k * NEW_PER_BATCH : (k + 1) * NEW_PER_BATCH]
        records += (
            rng.sample(pool[: k * NEW_PER_BATCH], REPEATS_PER_BATCH) if k else pool[-REPEATS_PER_BATCH:]
        )
        rng.shuffle(records)
        batches.append(Batch(records, str(uuid.UUID(int=rng.getrandbits(128), version=4))))
    return batches


@dataclass
class _Pusher:
    """Pushes the batches in a loop (unanswered ones first, then everything again: replays) until the
    server dies; protocol violations are kept for the test's thread to assert."""

    server: Any
    token: str
    batches: list[Batch]
    answered: dict[str, dict[str, Any]]
    first_answer: threading.Event = field(default_factory=threading.Event)
    took: list[float] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)

    def run(self) -> None:
        order = [b for b in self.batches if b.batch_id not in self.answered] + self.batches
        with self.server.client(timeout=120) as client:
            while True:
                for batch in order:
                    started = time.perf_counter()
                    try:
                        response = push(client, self.token, batch.records, batch.batch_id)
                    except httpx.TransportError:
                        self.lost.append(str(batch.batch_id))
                        return
                    try:
                        assert response.status_code == 200, response.text[:2000]
                        body = response.json()
                        assert_valid_answer(body, batch.records)
                        earlier = self.answered.setdefault(str(batch.batch_id), body)
                        assert body["results"] == earlier["results"]
                    except AssertionError as exc:
                        self.wrong.append(str(exc))
                        return
                    self.took.append(time.perf_counter() - started)
                    self.first_answer.set()


def _check_after_crash(
    url: str, path: Path, batches: list[Batch], answered: dict[str, dict[str, Any]]
) -> set[str]:
    assert sqlite_integrity(path) == "ok"
    committed = {batch_uuid for (batch_uuid,) in query(url, "SELECT batch_uuid FROM sync_batches")}
    assert set(answered) <= committed, "a batch answered 200 was lost"
    stored_batches = [batch for batch in batches if batch.batch_id in committed]
    # Exactly the records of the stored batches, each whole (one revision, all its value rows): no
    # record of an unstored batch slipped in, none of a stored batch is missing or partial.
    assert_exactly_once(url, list({r["id"]: r for b in stored_batches for r in b.records}.values()))
    audited = query(
        url, "SELECT target_id, count(*) FROM audit_log WHERE action = 'sync.push' GROUP BY target_id"
    )
    assert sorted(audited) == sorted((batch_id, 1) for batch_id in committed)
    return committed


def test_sigkill_while_pushing_leaves_whole_batches(
    make_database: MakeDatabase, start_server: StartServer
) -> None:
    rng = random.Random(SEED)
    prepared = make_database("sqlite", "sigkill")
    path = Path(sa.make_url(prepared.url).database or "")
    token = prepared.tokens[0]
    batches = _batches(rng, prepared.sites)
    answered: dict[str, dict[str, Any]] = {}
    servers = []
    for round_ in range(ROUNDS):
        server = start_server(prepared.url, f"round{round_}")
        servers.append(server)
        pushing = _Pusher(server, token, batches, answered)
        thread = threading.Thread(target=pushing.run, daemon=True)
        thread.start()
        # The kill falls at a random point of the next batch (its reading, validation, writes or commit):
        # after the first answer, a random fraction of the time that batch took.
        assert pushing.first_answer.wait(120), f"no answer within 120 s: {pushing.wrong}"
        time.sleep(rng.uniform(0.05, 1.0) * pushing.took[0])
        server.kill()
        thread.join(60)
        assert not thread.is_alive()
        assert not pushing.wrong, pushing.wrong
        assert pushing.lost, "the pusher did not notice the crash"
        committed = _check_after_crash(prepared.url, path, batches, answered)
        print(f"[sigkill] round {round_}: {len(committed)} batches stored, {len(answered)} answered")

    # Everything again, on a restarted server: answered batches are replayed, the others stored now.
    server = start_server(prepared.url, "final")
    servers.append(server)
    with server.client(timeout=120) as client:
        for batch in batches:
            response = push(client, token, batch.records, batch.batch_id)
            assert response.status_code == 200, response.text[:2000]
            body = response.json()
            assert_valid_answer(body, batch.records)
            if batch.batch_id in answered:
                assert body["replayed"] is True
                assert body["results"] == answered[str(batch.batch_id)]["results"]
    everything = list({r["id"]: r for b in batches for r in b.records}.values())
    assert_exactly_once(prepared.url, everything)
    assert sqlite_integrity(path) == "ok"
    for server in servers:
        assert_no_server_error(server)
