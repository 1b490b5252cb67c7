"""The push protocol on both databases: results per record, idempotency, revisions, conflicts,
validation kept as needs_review, refusals that leave the record on the device."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from sync.conftest import SyncWorld, record
from terrain.audit.models import AuditLog
from terrain.db import utcnow
from terrain.responses.models import Response, ResponseRevision, ResponseValue


def _state(sync_world: SyncWorld) -> dict[str, Any]:
    """Everything a push writes, comparable between runs."""
    session = sync_world.world.session
    session.expire_all()
    with session.get_bind().connect() as conn:
        return {
            table: sorted(
                tuple(str(value) for value in row)
                for row in conn.execute(sa.text(f"SELECT {columns} FROM {table}")).all()
            )
            for table, columns in {
                "responses": "uuid, revision, status, content_hash, change_seq",
                "response_revisions": "response_id, revision, content_hash, conflict",
                "response_values": "response_id, item, instance, ordinal, value_text, value_num",
                "response_files": "response_id, sha256, item",
                "sync_batches": "batch_uuid, request_hash",
            }.items()
        }


def test_created_then_duplicate(sync_world: SyncWorld) -> None:
    one = record()
    first = sync_world.push(sync_world.worker, [one])
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["results"][0]["result"] == "created"
    assert body["results"][0]["status"] == "accepted"
    assert body["results"][0]["revision"] == 1
    assert body["counts"] == {"created": 1}
    state = _state(sync_world)
    again = sync_world.push(sync_world.worker, [one])
    assert again.json()["results"][0]["result"] == "duplicate"
    assert _state(sync_world) == state  # a retry changes nothing


def test_values_are_stored_typed(sync_world: SyncWorld) -> None:
    one = record(answers={"age": 8, "scolarise": "yes", "enfants": [{"prenom": "Léa"}, {"prenom": "Tom"}]})
    assert sync_world.push(sync_world.worker, [one]).json()["results"][0]["result"] == "created"
    session = sync_world.world.session
    rows = session.exec(select(ResponseValue).order_by(ResponseValue.item, ResponseValue.instance)).all()
    by_item = {(row.item, row.instance): row for row in rows}
    assert by_item[("age", "")].value_num == 8
    assert by_item[("scolarise", "")].value_text == "yes"
    assert by_item[("prenom", "enfants.1")].value_text == "Léa"
    assert by_item[("prenom", "enfants.2")].value_text == "Tom"
    assert by_item[("prenom", "enfants.2")].repeat == "enfants"


def test_batch_replay_gives_the_same_answer(sync_world: SyncWorld) -> None:
    batch = str(uuid.uuid4())
    records = [record(), record(answers={"age": 200}), record(spec="inconnu")]
    first = sync_world.push(sync_world.worker, records, batch_id=batch)
    assert first.status_code == 200, first.text
    state = _state(sync_world)
    second = sync_world.push(sync_world.worker, records, batch_id=batch)
    assert second.status_code == 200
    assert second.json()["replayed"] is True
    assert second.json()["results"] == first.json()["results"]
    assert _state(sync_world) == state
    # The same batch id with other records: refused, it would hide them.
    reused = sync_world.push(sync_world.worker, [record()], batch_id=batch)
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "sync.batch_id_reused"


def test_invalid_answers_are_kept_for_review(sync_world: SyncWorld) -> None:
    bad = record(answers={"age": 200, "inconnue": 1})
    result = sync_world.push(sync_world.worker, [bad]).json()["results"][0]
    assert result["result"] == "needs_review"
    assert result["status"] == "needs_review"
    codes = {(problem["code"], problem["item"]) for problem in result["problems"]}
    assert ("constraint", "age") in codes
    assert ("unknown_item", "inconnue") in codes
    row = sync_world.world.session.exec(select(Response).where(Response.uuid == bad["id"])).one()
    assert row.answers["age"] == 200  # nothing thrown away


def test_revision_by_its_author(sync_world: SyncWorld) -> None:
    one = record()
    sync_world.push(sync_world.worker, [one])
    edited = dict(one, revision=2, base_revision=1, answers={"age": 9, "scolarise": "no", "enfants": []})
    result = sync_world.push(sync_world.worker, [edited]).json()["results"][0]
    assert (result["result"], result["revision"]) == ("revised", 2)
    session = sync_world.world.session
    row = session.exec(select(Response).where(Response.uuid == one["id"])).one()
    assert row.revision == 2 and row.answers["age"] == 9
    ages = session.exec(select(ResponseValue.value_num).where(ResponseValue.item == "age")).all()
    assert ages == [9]  # only the current revision is aggregated
    assert (
        len(session.exec(select(ResponseRevision).where(ResponseRevision.response_id == row.id)).all()) == 2
    )
    # The first revision sent again (a late retry): nothing changes.
    assert sync_world.push(sync_world.worker, [one]).json()["results"][0]["result"] == "duplicate"


def test_same_id_other_content_is_a_conflict(sync_world: SyncWorld) -> None:
    one = record()
    sync_world.push(sync_world.worker, [one])
    other = dict(one, answers={"age": 40})  # no base revision: not an edit of what the server has
    result = sync_world.push(sync_world.worker, [other]).json()["results"][0]
    assert (result["result"], result["status"]) == ("conflict", "conflict")
    # Retried: still a conflict, nothing new stored.
    state = _state(sync_world)
    assert sync_world.push(sync_world.worker, [other]).json()["results"][0]["result"] == "conflict"
    assert _state(sync_world) == state
    session = sync_world.world.session
    row = session.exec(select(Response).where(Response.uuid == one["id"])).one()
    kept = session.exec(select(ResponseRevision).where(ResponseRevision.response_id == row.id)).all()
    assert sorted(revision.conflict for revision in kept) == [False, True]  # both kept
    assert row.answers["age"] == 8  # the first content stays current until a coordinator decides


def test_another_account_cannot_revise(sync_world: SyncWorld) -> None:
    one = record()
    sync_world.push(sync_world.worker, [one])
    edited = dict(one, revision=2, base_revision=1, answers={"age": 50})
    result = sync_world.push(sync_world.other_worker, [edited]).json()["results"][0]
    assert result["result"] == "conflict"


def test_refusals_say_why_and_store_nothing(sync_world: SyncWorld) -> None:
    records = [
        record(spec="inconnu"),
        record(version=7),
        record(site="nulle-part"),
        record(site="aire-sud"),  # the worker is not on this site
        {"id": "pas-un-uuid", "answers": {}},
        ["pas", "un", "objet"],
    ]
    response = sync_world.push(sync_world.worker, records)  # type: ignore[list-item]
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [result["result"] for result in results] == ["rejected"] * 6
    assert [result["code"] for result in results] == [
        "sync.unknown_spec",
        "sync.unknown_version",
        "sync.unknown_site",
        "sync.site_forbidden",
        "sync.malformed_record",
        "sync.malformed_record",
    ]
    assert all(result["message"] for result in results)
    assert "reste sur l'appareil" in results[0]["message"]
    assert sync_world.world.session.exec(select(Response)).all() == []


def test_closed_version_grace(sync_world: SyncWorld) -> None:
    from terrain.principals import SYSTEM
    from terrain.specs import service as specs

    session = sync_world.world.session
    specs.close_version("essai_sync", 1, session=session, actor=SYSTEM)
    session.commit()
    # Within the grace period (30 days by default): still accepted.
    assert sync_world.push(sync_world.worker, [record()]).json()["results"][0]["result"] == "created"
    # Closed 31 days ago (moved back in the database: no API edits a closed version).
    session.execute(
        sa.text("UPDATE spec_versions SET closed_at = :at WHERE version = 1"),
        {"at": (utcnow() - timedelta(days=31)).replace(tzinfo=None)},
    )
    session.commit()
    result = sync_world.push(sync_world.worker, [record()]).json()["results"][0]
    assert (result["result"], result["code"]) == ("rejected", "sync.version_closed")
    assert "30 jours" in result["message"]


def test_batch_limits(sync_world: SyncWorld) -> None:
    too_many = sync_world.push(sync_world.worker, [record() for _ in range(501)])
    assert too_many.status_code == 413
    assert too_many.json()["error"]["code"] == "sync.batch_too_large"
    deep: Any = "x"
    for _ in range(100):
        deep = [deep]
    nested = sync_world.push(sync_world.worker, [record(answers={"age": deep})])
    assert nested.status_code == 400
    assert nested.json()["error"]["code"] == "request.too_deep"
    huge = sync_world.client.post(
        "/api/v1/sync/push",
        content=b'{"records": [' + b'{"x": "' + b"a" * (6 * 1024 * 1024) + b'"}]}',
        headers=sync_world.world.headers(sync_world.worker, **{"Content-Type": "application/json"}),
    )
    assert huge.status_code == 413
    malformed = sync_world.client.post(
        "/api/v1/sync/push",
        content=b'{"records": [',
        headers=sync_world.world.headers(sync_world.worker, **{"Content-Type": "application/json"}),
    )
    assert malformed.status_code in (400, 422)


def test_roles_that_cannot_push(sync_world: SyncWorld) -> None:
    assert sync_world.push(sync_world.viewer, [record()]).status_code == 403
    anonymous = sync_world.client.post("/api/v1/sync/push", json={"records": [record()]})
    assert anonymous.status_code == 401


def test_missing_attachments_listed(sync_world: SyncWorld) -> None:
    sha = "ab" * 32
    one = record(
        answers={"age": 8, "photo": sha},
        attachments=[{"sha256": sha, "media_type": "image/jpeg", "size": 1000, "item": "photo"}],
    )
    result = sync_world.push(sync_world.worker, [one]).json()["results"][0]
    assert result["result"] == "created", result
    assert result["missing_attachments"] == [sha]
    pulled = sync_world.pull(sync_world.worker).json()
    assert pulled["records"][0]["missing_attachments"] == [sha]


def test_push_is_audited_without_answers(sync_world: SyncWorld) -> None:
    one = record(answers={"age": 8, "enfants": [{"prenom": "Prénom-Secret"}]})
    sync_world.push(sync_world.worker, [one])
    entries = sync_world.world.session.exec(select(AuditLog).where(AuditLog.action == "sync.push")).all()
    assert len(entries) == 1
    assert entries[0].details["records"] == [one["id"]]
    assert "Prénom-Secret" not in str(entries[0].details)


def test_spec_no_longer_on_site_is_kept_for_review(sync_world: SyncWorld) -> None:
    from terrain.principals import SYSTEM
    from terrain.specs import service as specs

    session = sync_world.world.session
    specs.assign_sites("essai_sync", [], session=session, actor=SYSTEM)
    session.commit()
    result = sync_world.push(sync_world.worker, [record()]).json()["results"][0]
    assert result["result"] == "needs_review"
    assert [problem["code"] for problem in result["problems"]] == ["spec_not_on_site"]
