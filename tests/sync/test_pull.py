"""The pull: sites and specs in full, records' server state since the cursor, paged without gaps."""

from __future__ import annotations

from sync.conftest import SPEC_SYNC, SyncWorld, publish, record


def test_full_pull_lists_sites_specs_and_own_records(sync_world: SyncWorld) -> None:
    mine, theirs = record(), record()
    sync_world.push(sync_world.worker, [mine])
    sync_world.push(sync_world.other_worker, [theirs])
    body = sync_world.pull(sync_world.worker).json()
    assert [site["code"] for site in body["sites"]] == ["aire-nord"]
    assert [(spec["name"], [v["version"] for v in spec["versions"]]) for spec in body["specs"]] == [
        ("essai_sync", [1])
    ]
    assert body["specs"][0]["versions"][0]["status"] == "published"
    assert [item["id"] for item in body["records"]] == [mine["id"]]  # only the account's own
    assert body["records"][0]["status"] == "accepted"
    assert body["more"] is False and body["reset"] is False


def test_specs_of_other_sites_are_not_sent(sync_world: SyncWorld) -> None:
    publish(sync_world.world.session, SPEC_SYNC.replace("essai_sync", "seulement_sud"), sync_world.south)
    names = [spec["name"] for spec in sync_world.pull(sync_world.worker).json()["specs"]]
    assert names == ["essai_sync"]


def test_cursor_pages_without_gaps_or_repeats(sync_world: SyncWorld) -> None:
    sent = [record() for _ in range(7)]
    for chunk in (sent[:3], sent[3:5], sent[5:]):
        sync_world.push(sync_world.worker, chunk)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        body = sync_world.pull(sync_world.worker, cursor=cursor, limit=2).json()
        seen += [item["id"] for item in body["records"]]
        cursor = body["cursor"]
        if not body["more"]:
            break
    assert sorted(seen) == sorted(item["id"] for item in sent)
    assert len(seen) == len(set(seen))
    # Nothing new: an empty page with the same cursor.
    again = sync_world.pull(sync_world.worker, cursor=cursor).json()
    assert again["records"] == [] and again["cursor"] == cursor
    # A change after the cursor comes back, alone.
    edited = dict(sent[0], revision=2, base_revision=1, answers={"age": 11})
    sync_world.push(sync_world.worker, [edited])
    later = sync_world.pull(sync_world.worker, cursor=cursor).json()
    assert [(item["id"], item["revision"]) for item in later["records"]] == [(sent[0]["id"], 2)]


def test_cursor_from_the_future_means_full_pull(sync_world: SyncWorld) -> None:
    sync_world.push(sync_world.worker, [record()])
    body = sync_world.pull(sync_world.worker, cursor="c1.999999.5").json()
    assert body["reset"] is True
    assert len(body["records"]) == 1


def test_malformed_cursor_is_refused(sync_world: SyncWorld) -> None:
    response = sync_world.pull(sync_world.worker, cursor="n'importe quoi")
    assert response.status_code == 422


def test_closed_version_is_announced_with_its_deadline(sync_world: SyncWorld) -> None:
    from terrain.principals import SYSTEM
    from terrain.specs import service as specs

    specs.close_version("essai_sync", 1, session=sync_world.world.session, actor=SYSTEM)
    sync_world.world.session.commit()
    version = sync_world.pull(sync_world.worker).json()["specs"][0]["versions"][0]
    assert version["status"] == "closed"
    assert version["accepted_until"] is not None


def test_viewer_cannot_pull(sync_world: SyncWorld) -> None:
    assert sync_world.pull(sync_world.viewer).status_code == 403


def test_review_reaches_the_device_and_a_later_edit_clears_it(sync_world: SyncWorld) -> None:
    sent = record()
    sync_world.push(sync_world.worker, [sent])
    cursor = sync_world.pull(sync_world.worker).json()["cursor"]
    coordinator = sync_world.world.headers(sync_world.coordinator)
    decided = sync_world.client.post(
        f"/api/v1/responses/{sent['id']}/review",
        json={"decision": "approved", "comment": "Complet."},
        headers=coordinator,
    )
    assert decided.status_code == 200, decided.text
    seen = sync_world.pull(sync_world.worker, cursor=cursor).json()
    assert [(item["id"], item["review"]["decision"]) for item in seen["records"]] == [
        (sent["id"], "approved")
    ]
    # The device edits the record afterwards: the decision was about older content.
    sync_world.push(sync_world.worker, [dict(sent, revision=2, base_revision=1, answers={"age": 12})])
    later = sync_world.pull(sync_world.worker, cursor=seen["cursor"]).json()
    assert [(item["revision"], item["review"]) for item in later["records"]] == [(2, None)]
