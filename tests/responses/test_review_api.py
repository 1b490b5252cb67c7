"""The review endpoints over HTTP on both databases, fed by the real push: list and pages, labelled
detail, decisions the device then pulls, conflicts resolved by choosing or merging, and the bounds of
every input."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from conftest import World
from terrain.audit.models import AuditLog
from terrain.sites.models import Site
from terrain.users.models import User

from .test_review import FULL_ANSWERS, GUIDE, SECRET_NAME, SPEC_MENAGES, publish


def record(answers: dict[str, Any] | None = None, *, site: str = "nord", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "spec": "menages",
        "version": 1,
        "site": site,
        "answers": {key: value for key, value in FULL_ANSWERS.items() if key != "photo"}
        if answers is None
        else answers,
        "started_at": "2026-11-20T09:00:00+01:00",
        "finished_at": "2026-11-20T09:12:00+01:00",
    }
    body.update(extra)
    return body


@dataclass
class Api:
    world: World
    client: TestClient
    nord: Site
    sud: Site
    admin: User
    coordinator: User
    coordinator_sud: User
    worker: User
    other_worker: User
    worker_sud: User
    viewer: User

    def push(self, user: User, *records: dict[str, Any]) -> list[dict[str, Any]]:
        response = self.client.post(
            "/api/v1/sync/push", json={"records": list(records)}, headers=self.world.headers(user)
        )
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    def get(self, user: User, path: str, **headers: str) -> Any:
        return self.client.get(path, headers=self.world.headers(user, **headers))

    def post(self, user: User, path: str, body: Any, **headers: str) -> Any:
        return self.client.post(path, json=body, headers=self.world.headers(user, **headers))

    def pull(self, user: User) -> dict[str, Any]:
        response = self.client.get("/api/v1/sync/pull", headers=self.world.headers(user))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def api(world: World, client: TestClient) -> Api:
    nord, sud = world.site("nord"), world.site("sud")
    publish(world.session, SPEC_MENAGES, nord, sud)
    publish(world.session, GUIDE, nord)
    return Api(
        world=world,
        client=client,
        nord=nord,
        sud=sud,
        admin=world.user("admin"),
        coordinator=world.user("coordinator", sites=(nord,)),
        coordinator_sud=world.user("coordinator", sites=(sud,), language="en"),
        worker=world.user("fieldworker", sites=(nord,)),
        other_worker=world.user("fieldworker", sites=(nord,)),
        worker_sud=world.user("fieldworker", sites=(sud,)),
        viewer=world.user("viewer", sites=(nord,)),
    )


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert (error["status"], error["code"]) == (status, code)
    return error


def test_push_then_review_then_the_device_sees_it(api: Api) -> None:
    sent = record()
    (result,) = api.push(api.worker, sent)
    assert result["result"] == "created", result

    listed = api.get(api.coordinator, "/api/v1/responses")
    assert listed.status_code == 200, listed.text
    (summary,) = listed.json()["items"]
    assert summary["uuid"] == sent["id"]
    assert (summary["spec"], summary["site"], summary["status"], summary["review"]) == (
        "menages",
        "nord",
        "accepted",
        None,
    )
    assert summary["author"] == {"id": api.worker.id, "name": api.worker.display_name}
    assert "answers" not in summary and SECRET_NAME not in listed.text
    assert listed.json()["next_cursor"] is None

    # Labels: the caller's language by default (Accept-Language, else the account's), or ?lang=.
    path = f"/api/v1/responses/{sent['id']}"
    french = api.get(api.coordinator, path).json()
    assert (french["lang"], french["title"], french["items"][0]["label"]) == ("fr", "Ménages", "Le ménage")
    english = api.get(api.coordinator, path, **{"Accept-Language": "en-GB,en;q=0.9"}).json()
    assert (english["lang"], english["title"], english["items"][0]["label"]) == (
        "en",
        "Households",
        "The household",
    )
    assert api.get(api.coordinator, f"{path}?lang=en").json()["lang"] == "en"
    assert api.get(api.admin, f"{path}?lang=fr", **{"Accept-Language": "en"}).json()["lang"] == "fr"
    membres = next(item for item in french["items"] if item["name"] == "membres")
    assert [[field["answer"] for field in block] for block in membres["instances"]] == [
        [SECRET_NAME, "yes"],
        ["Tom", "no"],
    ]
    assert membres["instances"][0][1]["choices"] == [{"value": "yes", "label": "Oui"}]

    reviewed = api.post(
        api.coordinator,
        f"{path}/review",
        {"decision": "rejected", "comment": "Il manque la photo de l'aire."},
    )
    assert reviewed.status_code == 200, reviewed.text
    assert (reviewed.json()["review"], reviewed.json()["review_comment"]) == (
        "rejected",
        "Il manque la photo de l'aire.",
    )
    (state,) = api.pull(api.worker)["records"]
    assert state["id"] == sent["id"]
    assert state["review"]["decision"] == "rejected"
    assert state["review"]["comment"] == "Il manque la photo de l'aire."
    # The list filters on it.
    assert [
        i["uuid"] for i in api.get(api.coordinator, "/api/v1/responses?review=rejected").json()["items"]
    ] == [sent["id"]]
    assert api.get(api.coordinator, "/api/v1/responses?review=none").json()["items"] == []

    # Audited: viewing and reviewing, never the answers nor the comment.
    session = api.world.session
    session.expire_all()
    actions = [
        entry.action for entry in session.exec(select(AuditLog).where(AuditLog.target_id == sent["id"])).all()
    ]
    assert actions.count("response.viewed") == 4 and actions.count("response.reviewed") == 1
    for entry in session.exec(select(AuditLog).where(AuditLog.target_type == "response")).all():
        assert SECRET_NAME not in str(entry.details) and "photo de l'aire" not in str(entry.details)


def test_visibility_over_http(api: Api) -> None:
    nord = record()
    sud = record(site="sud")
    api.push(api.worker, nord)
    api.push(api.worker_sud, sud)
    assert _ids(api.get(api.admin, "/api/v1/responses")) == {nord["id"], sud["id"]}
    assert _ids(api.get(api.coordinator, "/api/v1/responses")) == {nord["id"]}
    assert _ids(api.get(api.worker, "/api/v1/responses")) == {nord["id"]}
    assert _ids(api.get(api.other_worker, "/api/v1/responses")) == set()  # same site, not theirs
    _error(api.get(api.viewer, "/api/v1/responses"), 403, "auth.forbidden")
    _error(api.get(api.viewer, f"/api/v1/responses/{nord['id']}"), 403, "auth.forbidden")
    hidden = _error(api.get(api.coordinator, f"/api/v1/responses/{sud['id']}"), 404, "response.not_found")
    assert hidden["message"] == f"Fiche introuvable : {sud['id']}."
    _error(api.get(api.other_worker, f"/api/v1/responses/{nord['id']}"), 404, "response.not_found")
    # Not existing and not visible look the same.
    _error(api.get(api.coordinator, f"/api/v1/responses/{uuid.uuid4()}"), 404, "response.not_found")
    # Labels default to the account's language when no Accept-Language is sent.
    assert api.get(api.coordinator_sud, f"/api/v1/responses/{sud['id']}").json()["lang"] == "en"
    assert api.get(api.worker, f"/api/v1/responses/{nord['id'].upper()}").status_code == 200
    _error(
        api.post(api.worker, f"/api/v1/responses/{nord['id']}/review", {"decision": "approved"}),
        403,
        "auth.forbidden",
    )
    _error(
        api.post(api.coordinator_sud, f"/api/v1/responses/{nord['id']}/review", {"decision": "approved"}),
        404,
        "response.not_found",
    )


def _ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.text
    return {item["uuid"] for item in response.json()["items"]}


def test_pages_and_filters_over_http(api: Api) -> None:
    sent = [record({"nb_personnes": n}) for n in range(1, 6)]
    api.push(api.worker, *sent[:3])
    api.push(api.other_worker, *sent[3:])
    invalid = record({"habitat": "yourte"})
    api.push(api.worker, invalid)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        query = "/api/v1/responses?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = api.get(api.coordinator, query).json()
        assert len(body["items"]) <= 2
        seen += [item["uuid"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 6
    assert set(seen) == {r["id"] for r in sent} | {invalid["id"]}
    assert _ids(api.get(api.coordinator, f"/api/v1/responses?author={api.other_worker.id}")) == {
        r["id"] for r in sent[3:]
    }
    assert _ids(api.get(api.coordinator, "/api/v1/responses?status=needs_review")) == {invalid["id"]}
    assert _ids(api.get(api.coordinator, "/api/v1/responses?spec=menages&version=1&site=nord")) == set(seen)
    assert _ids(api.get(api.coordinator, "/api/v1/responses?since=2999-01-01")) == set()
    assert _ids(api.get(api.coordinator, "/api/v1/responses?until=2000-01-01T00:00:00Z")) == set()
    assert len(_ids(api.get(api.coordinator, "/api/v1/responses?since=2000-01-01T00:00:00%2B02:00"))) == 6
    detail = api.get(api.coordinator, f"/api/v1/responses/{invalid['id']}?lang=en").json()
    assert detail["status"] == "needs_review"
    assert any(p["item"] == "nb_personnes" and "required" in p["message"] for p in detail["problems"])


def test_resolve_by_choosing_then_the_device_carries_on(api: Api) -> None:
    first = record()
    api.push(api.worker, first)
    # The same record edited on another tablet by another account: both are kept.
    other = dict(first, answers={"nb_personnes": 7, "habitat": "maison"})
    (result,) = api.push(api.other_worker, other)
    assert result["result"] == "conflict"
    path = f"/api/v1/responses/{first['id']}"
    error = _error(
        api.post(api.coordinator, f"{path}/review", {"decision": "approved"}),
        409,
        "response.conflict_unresolved",
    )
    assert "choisissez d'abord la version à garder" in error["message"]
    english = _error(
        api.post(api.coordinator, f"{path}/review", {"decision": "approved"}, **{"Accept-Language": "en"}),
        409,
        "response.conflict_unresolved",
    )
    assert "conflict" in english["message"]

    detail = api.get(api.coordinator, path).json()
    assert detail["status"] == "conflict"
    conflicting = [r for r in detail["revisions"] if r["conflict"]]
    assert len(conflicting) == 1
    assert conflicting[0]["answers"] == {"nb_personnes": 7, "habitat": "maison"}
    assert conflicting[0]["author"]["id"] == api.other_worker.id
    assert "nb_personnes" in conflicting[0]["differs"]

    resolved = api.post(
        api.coordinator, f"{path}/resolve", {"revision_id": conflicting[0]["id"], "comment": "Tablette 2"}
    )
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert (body["status"], body["revision"], body["review"]) == ("accepted", 2, "reviewed")
    _error(
        api.post(api.coordinator, f"{path}/resolve", {"revision_id": conflicting[0]["id"]}),
        409,
        "response.not_in_conflict",
    )

    # The collecting device learns the new revision and reads the record back.
    (state,) = api.pull(api.worker)["records"]
    assert (state["revision"], state["status"], state["review"]["decision"]) == (2, "accepted", "reviewed")
    mine = api.get(api.worker, path).json()
    assert mine["revision"] == 2
    menage = {item["name"]: item for item in mine["items"][0]["items"]}
    assert (menage["nb_personnes"]["answer"], menage["habitat"]["answer"]) == (7, "maison")
    # ... and edits on from it: a revision that follows.
    edited = dict(first, answers={"nb_personnes": 8, "habitat": "maison"}, revision=3, base_revision=2)
    (again,) = api.push(api.worker, edited)
    assert (again["result"], again["revision"]) == ("revised", 3)
    # Decisions are possible again.
    assert api.post(api.coordinator, f"{path}/review", {"decision": "approved"}).status_code == 200


def test_resolve_by_merging_over_http(api: Api) -> None:
    first = record()
    api.push(api.worker, first)
    api.push(api.other_worker, dict(first, answers={"nb_personnes": 9}))
    path = f"/api/v1/responses/{first['id']}"
    merged = {**first["answers"], "nb_personnes": 9}
    resolved = api.post(api.admin, f"{path}/resolve", {"answers": merged})
    assert resolved.status_code == 200, resolved.text
    assert (resolved.json()["status"], resolved.json()["revision"]) == ("accepted", 2)
    detail = api.get(api.admin, path).json()
    assert [(r["revision"], r["origin"], r["current"], r["conflict"]) for r in detail["revisions"]] == [
        (1, "pushed", False, False),
        (1, "pushed", False, False),
        (2, "resolved", True, False),
    ]
    menage = {item["name"]: item for item in detail["items"][0]["items"]}
    assert (menage["nb_personnes"]["answer"], menage["double"]["answer"]) == (9, 18)


def test_bounded_inputs(api: Api) -> None:
    row = record()
    api.push(api.worker, row)
    path = f"/api/v1/responses/{row['id']}"
    for query in (
        "limit=0",
        "limit=201",
        "author=0",
        f"author={2**31}",
        f"version={2**31}",
        "site=a%00b",
        "spec=a%00b",
        "spec=Majuscules",
        "status=perdue",
        "review=peut-etre",
        "since=hier",
        "until=2026-13-45",
        "until=0.5",  # a Unix time: not an ISO date
        "cursor=abc",
        "cursor=r1.0",
        f"cursor=r1.{'9' * 12}",
    ):
        _error(api.get(api.admin, f"/api/v1/responses?{query}"), 422, "request.invalid")
    assert api.get(api.admin, "/api/v1/responses?limit=200").status_code == 200
    _error(api.get(api.admin, "/api/v1/responses/pas-un-uuid"), 422, "request.invalid")
    _error(api.get(api.admin, f"{path}?lang=de"), 422, "request.invalid")
    for body in (
        {"decision": "ok"},
        {},
        {"decision": "approved", "comment": "x" * 2001},
        {"decision": "approved", "comment": "a\x00b"},
        {"decision": "approved", "extra": 1},
    ):
        _error(api.post(api.admin, f"{path}/review", body), 422, "request.invalid")
    assert (
        api.post(api.admin, f"{path}/review", {"decision": "approved", "comment": "x" * 2000}).status_code
        == 200
    )
    for body in (
        {},
        {"revision_id": 1, "answers": {}},
        {"revision_id": 0},
        {"revision_id": 2**31},
        {"answers": []},
        {"answers": {}, "comment": "x" * 2001},
    ):
        _error(api.post(api.admin, f"{path}/resolve", body), 422, "request.invalid")
    _error(api.post(api.admin, f"{path}/resolve", {"answers": {}}), 409, "response.not_in_conflict")
    _error(
        api.post(api.admin, f"/api/v1/responses/{uuid.uuid4()}/resolve", {"revision_id": 1}),
        404,
        "response.not_found",
    )


def test_openapi_documents_the_endpoints(api: Api) -> None:
    schema = api.client.get("/api/openapi.json").json()
    paths = schema["paths"]
    listing = paths["/api/v1/responses"]["get"]
    assert {"401", "403", "422"} <= set(listing["responses"])
    assert listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "ResponsePage"
    )
    assert {"404", "409"} <= set(paths["/api/v1/responses/{uuid}/resolve"]["post"]["responses"])
    assert "ResponseDetail" in schema["components"]["schemas"]
    limit = next(p for p in listing["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 200


def test_spec_page_counts_records_per_version_on_the_callers_sites(api: Api) -> None:
    assert [r["result"] for r in api.push(api.worker, record(), record())] == ["created", "created"]
    assert [r["result"] for r in api.push(api.worker_sud, record(site="sud"))] == ["created"]

    def counts(user: User) -> list[int | None]:
        detail = api.get(user, "/api/v1/specs/menages")
        assert detail.status_code == 200, detail.text
        return [version["responses"] for version in detail.json()["versions"]]

    assert counts(api.admin) == [3]
    assert counts(api.coordinator) == [2]  # the coordinator of "nord" counts nord's records only
    assert counts(api.coordinator_sud) == [1]
    assert counts(api.worker) == [None]  # field workers and viewers get no counts
    assert counts(api.viewer) == [None]
