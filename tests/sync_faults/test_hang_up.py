"""The connection is lost around a push (a phone leaving the network): the device never reads the answer
and sends the batch again. Every record ends stored exactly once; the retry answers with the original
answer (same batch id) or ``duplicate`` (no batch id); a request cut before its body ended stores
nothing."""

from __future__ import annotations

import random
import time
import uuid

import httpx
import pytest

from sync_faults.conftest import MakeDatabase, StartServer
from sync_faults.harness import (
    STORED_FIRST,
    assert_exactly_once,
    assert_no_server_error,
    assert_valid_answer,
    hang_up,
    push,
    push_body,
    query,
    send_push,
    synthetic,
    wait_until,
)

pytestmark = pytest.mark.sync_faults

SIZE = 100


def _stored(url: str, records: list[dict[str, object]]) -> int:
    ids = {record["id"] for record in records}
    return sum(1 for (uuid_,) in query(url, "SELECT uuid FROM responses") if uuid_ in ids)


def test_answers_lost_on_the_way_back_then_retried(
    make_database: MakeDatabase, start_server: StartServer
) -> None:
    prepared = make_database("sqlite", "hang-up")
    token = prepared.tokens[0]
    records = synthetic.records(4 * SIZE, sites=prepared.sites, seed=21, invalid_every=25)
    with_id, without_id, immediate, cut = (records[k * SIZE : (k + 1) * SIZE] for k in range(4))
    server = start_server(prepared.url)
    url = prepared.url

    batch_ids = [str(uuid.uuid4()) for _ in range(3)]
    # 1. Committed, then the connection is reset before the answer is read; retried with the same batch id.
    batch_id = batch_ids[0]
    sock = send_push(server.port, token, push_body(with_id, batch_id))
    wait_until(
        lambda: bool(query(url, "SELECT 1 FROM sync_batches WHERE batch_uuid = :b", b=batch_id)),
        what="the first batch to commit",
    )
    hang_up(sock, reset=True)
    with server.client() as client:
        retry = push(client, token, with_id, batch_id)
    assert retry.status_code == 200, retry.text[:2000]
    body = retry.json()
    assert_valid_answer(body, with_id)
    # The answer the device never read: the records were stored by the first request.
    assert body["replayed"] is True
    assert set(body["counts"]) == STORED_FIRST

    # 2. Same without a batch id, the connection closed normally: each record is recognised by its id.
    sock = send_push(server.port, token, push_body(without_id))
    wait_until(lambda: _stored(url, without_id) == SIZE, what="the second batch to commit")
    hang_up(sock, reset=False)
    with server.client() as client:
        retry = push(client, token, without_id)
    assert retry.status_code == 200, retry.text[:2000]
    assert retry.json()["counts"] == {"duplicate": SIZE}

    # 3. Hung up at once (the server may not even have read the body yet) and sent again straight away,
    #    possibly while the first request still runs.
    batch_id = batch_ids[1]
    hang_up(send_push(server.port, token, push_body(immediate, batch_id)), reset=False)
    with server.client() as client:
        retry = push(client, token, immediate, batch_id)
    assert retry.status_code == 200, retry.text[:2000]
    assert_valid_answer(retry.json(), immediate)
    assert {
        result["result"] for result in retry.json()["results"]
    } <= STORED_FIRST  # original answer or replay

    # 4. Cut in the middle of the body: nothing of it may be stored; the retry stores everything.
    batch_id = batch_ids[2]
    body_bytes = push_body(cut, batch_id)
    hang_up(send_push(server.port, token, body_bytes, send_bytes=len(body_bytes) // 2), reset=True)
    time.sleep(0.5)
    assert _stored(url, cut) == 0
    assert not query(url, "SELECT 1 FROM sync_batches WHERE batch_uuid = :b", b=batch_id)
    with server.client() as client:
        retry = push(client, token, cut, batch_id)
        assert client.get("/api/health").status_code == 200
    assert retry.status_code == 200, retry.text[:2000]
    assert retry.json()["replayed"] is False
    assert set(retry.json()["counts"]) == STORED_FIRST

    assert_exactly_once(url, records)
    # One audit entry per batch id (replays and the cut request wrote none), two without (the second
    # batch and its retry, answered duplicate).
    audited = query(
        url, "SELECT target_id, count(*) FROM audit_log WHERE action = 'sync.push' GROUP BY target_id"
    )
    assert sorted(audited, key=str) == sorted([(batch, 1) for batch in batch_ids] + [(None, 2)], key=str)
    assert_no_server_error(server)


def test_every_request_of_a_flaky_connection_is_retried_until_answered(
    make_database: MakeDatabase, start_server: StartServer
) -> None:
    """A device whose connection drops at random points (before, during, after the server's work), and
    which resends each batch until it reads an answer: exactly once in the end, every answer valid."""
    prepared = make_database("sqlite", "flaky")
    token = prepared.tokens[0]
    records = synthetic.records(6 * 50, sites=prepared.sites, seed=22)
    server = start_server(prepared.url)
    rng = random.Random(22)
    for k in range(6):
        batch = records[k * 50 : (k + 1) * 50]
        batch_id = str(uuid.uuid4()) if k % 2 == 0 else None
        body_bytes = push_body(batch, batch_id)
        for _ in range(3):  # drop the connection up to three times, at a random point
            sock = send_push(
                server.port, token, body_bytes, send_bytes=rng.choice([None, len(body_bytes) // 3])
            )
            time.sleep(rng.uniform(0.0, 0.6))
            hang_up(sock, reset=rng.random() < 0.5)
        with httpx.Client(base_url=server.base_url, trust_env=False, timeout=120) as client:
            answer = push(client, token, batch, batch_id)
        assert answer.status_code == 200, answer.text[:2000]
        assert_valid_answer(answer.json(), batch)
    assert_exactly_once(prepared.url, records)
    # Some abandoned requests were carried out (each stored batch is audited): the test did exercise
    # the server finishing work for a client that had gone.
    audited = query(prepared.url, "SELECT count(*) FROM audit_log WHERE action = 'sync.push'")[0][0]
    assert audited > 6
    assert_no_server_error(server)
