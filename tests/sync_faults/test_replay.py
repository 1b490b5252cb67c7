"""Replays against a real server: the same batches pushed twice in a row, and eight times at once, give
the same answers and leave the same rows (responses, revisions, values, files, batches) as pushing them
once, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from sync_faults.conftest import MakeDatabase, StartServer
from sync_faults.harness import (
    STORED_FIRST,
    assert_exactly_once,
    assert_no_server_error,
    assert_valid_answer,
    first_storings,
    push,
    pusher,
    state,
    synthetic,
    together,
)

pytestmark = pytest.mark.sync_faults

BATCHES = 4
BATCH_SIZE = 40
AT_ONCE = 8


def _workload(sites: list[str]) -> tuple[list[tuple[list[dict[str, Any]], str]], list[dict[str, Any]]]:
    """Four batches with ids (one record in 16 fails validation: needs_review) and a fifth without."""
    records = synthetic.records(BATCHES * BATCH_SIZE + BATCH_SIZE, sites=sites, seed=11, invalid_every=16)
    ids = [str(uuid.UUID(int=1000 + index, version=4)) for index in range(BATCHES)]
    batches = [(records[k * BATCH_SIZE : (k + 1) * BATCH_SIZE], ids[k]) for k in range(BATCHES)]
    return batches, records[BATCHES * BATCH_SIZE :]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_replays_give_the_same_answers_and_rows(
    backend: str, make_database: MakeDatabase, start_server: StartServer
) -> None:
    # Sequentially: each batch once, then again.
    sequential = make_database(backend, "sequential")
    batches, loose = _workload(sequential.sites)
    everything = [record for records, _ in batches for record in records] + loose
    token = sequential.tokens[0]
    server = start_server(sequential.url, "sequential")
    with server.client() as client:
        first = []
        for records, batch_id in batches:
            response = push(client, token, records, batch_id)
            assert response.status_code == 200, response.text[:2000]
            body = response.json()
            assert_valid_answer(body, records)
            assert body["replayed"] is False
            assert {result["result"] for result in body["results"]} <= STORED_FIRST
            first.append(body)
        assert sum(body["counts"].get("needs_review", 0) for body in first) == BATCHES * BATCH_SIZE // 16
        for (records, batch_id), original in zip(batches, first, strict=True):
            again = push(client, token, records, batch_id).json()
            assert again["replayed"] is True
            assert again["results"] == original["results"]
        loose_first = push(client, token, loose).json()
        assert loose_first["replayed"] is False
        assert set(loose_first["counts"]) <= STORED_FIRST
        repeat = push(client, token, everything).json()  # every record again, without a batch id
        assert repeat["counts"] == {"duplicate": len(everything)}
    assert_no_server_error(server)
    server.stop()
    assert_exactly_once(sequential.url, everything)
    expected = state(sequential.url)

    # Concurrently, on a fresh database: each batch eight times at once, all batches together.
    concurrent = make_database(backend, "concurrent")
    token = concurrent.tokens[0]
    server = start_server(concurrent.url, "concurrent")
    calls = [
        pusher(server, token, records, batch_id) for records, batch_id in batches for _ in range(AT_ONCE)
    ]
    outcomes = together(calls)
    assert [outcome.status for outcome in outcomes] == [200] * len(calls), [
        o.text for o in outcomes if o.status != 200
    ]
    for k, (records, _) in enumerate(batches):
        answers = [outcome.body for outcome in outcomes[k * AT_ONCE : (k + 1) * AT_ONCE]]
        for body in answers:
            assert body is not None
            assert_valid_answer(body, records)
            assert body["results"] == first[k]["results"]  # the very answer the sequential run got
        assert sorted(body["replayed"] for body in answers if body) == [False] + [True] * (AT_ONCE - 1)
    # The fifth batch, without an id, eight times at once: stored by one request, duplicates for the rest.
    outcomes = together([pusher(server, token, loose, None) for _ in range(AT_ONCE)])
    assert [outcome.status for outcome in outcomes] == [200] * AT_ONCE, [o.text for o in outcomes]
    answers = [outcome.body for outcome in outcomes if outcome.body is not None]
    for body in answers:
        assert_valid_answer(body, loose)
    assert first_storings(answers) == {record["id"]: 1 for record in loose}
    kinds = sorted(frozenset(body["counts"]) for body in answers)
    assert kinds.count(frozenset({"duplicate"})) == AT_ONCE - 1, kinds
    # Everything again, eight times at once without a batch id: nothing but duplicates.
    outcomes = together([pusher(server, token, everything, None) for _ in range(AT_ONCE)])
    for outcome in outcomes:
        assert outcome.status == 200, outcome.text
        assert outcome.body is not None and outcome.body["counts"] == {"duplicate": len(everything)}
    assert_no_server_error(server)
    server.stop()
    assert_exactly_once(concurrent.url, everything)
    assert state(concurrent.url) == expected
