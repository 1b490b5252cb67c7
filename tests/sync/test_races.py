"""Races on both databases: the same records pushed at once through two application instances (as two
server processes would) end as one row each, with protocol results and no server error."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from sync.conftest import SyncWorld, record
from terrain.main import create_app

ROUNDS = 3
PARALLEL = 6


def _counts(sync_world: SyncWorld) -> dict[str, int]:
    with sync_world.world.session.get_bind().connect() as conn:
        return {
            table: conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("responses", "response_revisions", "sync_batches")
        }


def test_same_batch_from_many_clients_at_once(sync_world: SyncWorld) -> None:
    second_app = create_app(sync_world.world.settings)
    headers = sync_world.world.headers(sync_world.worker)
    try:
        with TestClient(second_app, raise_server_exceptions=False) as other:
            clients = [sync_world.client, other]
            for _round in range(ROUNDS):
                records = [record() for _ in range(20)]
                batch: dict[str, Any] = {"batch_id": str(uuid.uuid4()), "records": records}
                plain: dict[str, Any] = {"records": records}

                def send(n: int, batch: dict[str, Any] = batch, plain: dict[str, Any] = plain) -> Any:
                    body = batch if n % 2 else plain  # with and without a batch id
                    return clients[n % 2].post("/api/v1/sync/push", json=body, headers=headers)

                with ThreadPoolExecutor(PARALLEL) as pool:
                    answers = list(pool.map(send, range(PARALLEL)))
                assert [answer.status_code for answer in answers] == [200] * PARALLEL, [
                    answer.text for answer in answers if answer.status_code != 200
                ]
                for answer in answers:
                    for result in answer.json()["results"]:
                        assert result["result"] in ("created", "duplicate"), result
                # Every record was created exactly once across the answers that were not replays (a
                # replay repeats the first answer to its batch word for word).
                created = [
                    result["id"]
                    for answer in answers
                    if not answer.json()["replayed"]
                    for result in answer.json()["results"]
                    if result["result"] == "created"
                ]
                assert sorted(created) == sorted(item["id"] for item in records)
            assert _counts(sync_world) == {
                "responses": ROUNDS * 20,
                "response_revisions": ROUNDS * 20,
                "sync_batches": ROUNDS,
            }
    finally:
        second_app.state.engine.dispose()


def test_revision_and_conflict_racing(sync_world: SyncWorld) -> None:
    """Two edits of one record based on the same revision, at once: one is the revision, the other a
    conflict (both kept); never two current revisions, never a 500."""
    first = record()
    assert sync_world.push(sync_world.worker, [first]).status_code == 200
    edits = [
        dict(first, revision=2, base_revision=1, answers={"age": 20 + n, "enfants": []}) for n in range(4)
    ]
    headers = sync_world.world.headers(sync_world.worker)

    def send(edit: dict[str, Any]) -> Any:
        return sync_world.client.post("/api/v1/sync/push", json={"records": [edit]}, headers=headers)

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, edits))
    assert [answer.status_code for answer in answers] == [200] * 4
    results = sorted(answer.json()["results"][0]["result"] for answer in answers)
    assert results == ["conflict", "conflict", "conflict", "revised"]
    assert _counts(sync_world)["response_revisions"] == 5
