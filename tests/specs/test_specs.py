from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from conftest import SPEC_ESSAI, SPEC_ESSAI_BREAKING, SPEC_ESSAI_V2, SPEC_INVALID, World, spec_named
from terrain.audit.models import AuditLog
from terrain.auth.service import SYSTEM
from terrain.errors import TerrainError
from terrain.sites.models import Site
from terrain.specs import service
from terrain.specs.models import SpecVersion


def test_upload_publish_noop_and_new_version(client: TestClient, world: World) -> None:
    coordinator = world.user("coordinator")
    headers = world.headers(coordinator)
    uploaded = client.post("/api/v1/specs", json={"source": SPEC_ESSAI}, headers=headers)
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["name"] == "essai" and uploaded.json()["created"] is True
    assert uploaded.json()["draft"]["version"] is None

    first = client.post("/api/v1/specs/essai/publish", headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["version"] == 1 and first.json()["changed"] is True

    again = client.post("/api/v1/specs/essai/publish", json={"source": SPEC_ESSAI}, headers=headers)
    assert again.status_code == 200
    assert again.json() == {**first.json(), "changed": False}

    no_draft = client.post("/api/v1/specs/essai/publish", headers=headers)
    assert no_draft.status_code == 409 and no_draft.json()["error"]["code"] == "spec.no_draft"

    second = client.post("/api/v1/specs/essai/publish", json={"source": SPEC_ESSAI_V2}, headers=headers)
    assert second.status_code == 201 and second.json()["version"] == 2

    detail = client.get("/api/v1/specs/essai", headers=headers).json()
    assert [v["version"] for v in detail["versions"]] == [1, 2]
    assert detail["latest_version"] == 2 and detail["published_versions"] == [1, 2]
    version = client.get("/api/v1/specs/essai/versions/1", headers=headers).json()
    assert version["compiled"]["name"] == "essai"
    assert version["source_yaml"] == SPEC_ESSAI
    assert client.get("/api/v1/specs/essai/versions/9", headers=headers).status_code == 404
    published = world.session.exec(select(AuditLog).where(AuditLog.action == "spec.published")).all()
    assert [entry.details["version"] for entry in published] == [1, 2]


def test_upload_as_yaml_text(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("admin"), **{"Content-Type": "application/yaml"})
    response = client.post("/api/v1/specs", content=SPEC_ESSAI.encode(), headers=headers)
    assert response.status_code == 200, response.text
    bad = client.post("/api/v1/specs", content=b"{not json", headers=world.headers(world.user("admin")))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "request.invalid"


@pytest.mark.parametrize(("lang", "word"), [("fr", "Spécification"), ("en", "spec")])
def test_invalid_spec_issues_in_caller_language(
    client: TestClient, world: World, lang: str, word: str
) -> None:
    headers = world.headers(world.user("coordinator"), **{"Accept-Language": lang})
    response = client.post(
        "/api/v1/specs", json={"source": SPEC_INVALID, "filename": "essai.yaml"}, headers=headers
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "spec.invalid"
    issues = error["details"]["issues"]
    assert issues
    for issue in issues:
        assert {"file", "line", "col", "path", "code", "severity", "message"} <= set(issue)
        assert issue["file"] == "essai.yaml"
        assert isinstance(issue["line"], int)
        assert issue["message"].startswith("essai.yaml:")
    assert any(issue["code"] == "unknown_reference" for issue in issues)
    assert ("erreur" in error["message"]) == (lang == "fr")


def test_breaking_change_refused_with_diff(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("admin"))
    assert (
        client.post("/api/v1/specs/essai/publish", json={"source": SPEC_ESSAI}, headers=headers).status_code
        == 201
    )
    response = client.post(
        "/api/v1/specs/essai/publish", json={"source": SPEC_ESSAI_BREAKING}, headers=headers
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "spec.breaking_change"
    assert "diff" in error["details"]
    assert client.get("/api/v1/specs/essai", headers=headers).json()["latest_version"] == 1


@pytest.mark.parametrize(
    ("lang", "message", "sentence"),
    [
        (
            "fr",
            "La nouvelle version de essai casse la compatibilité avec la version 1 : age.",
            "La question « age » a été supprimée : les réponses déjà collectées perdraient leur sens. "
            'Masquez-la plutôt avec relevant: "false()" ou gardez-la.',
        ),
        (
            "en",
            "The new version of essai breaks compatibility with version 1: age.",
            'Item "age" was removed: the answers already collected would lose their meaning. '
            'Hide it instead with relevant: "false()", or keep it.',
        ),
    ],
)
def test_breaking_change_names_the_item_in_the_caller_language(
    client: TestClient, world: World, lang: str, message: str, sentence: str
) -> None:
    headers = world.headers(world.user("coordinator"), **{"Accept-Language": lang})
    client.post("/api/v1/specs/essai/publish", json={"source": SPEC_ESSAI}, headers=headers)
    response = client.post(
        "/api/v1/specs/essai/publish", json={"source": SPEC_ESSAI_BREAKING}, headers=headers
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "spec.breaking_change"
    assert error["message"].startswith(message)
    assert error["details"]["breaking"] == [
        {"target": "item", "name": "age", "reason": "item_removed", "message": sentence}
    ]
    # The raw diff is still there, for machines.
    assert error["details"]["diff"]["breaking"] is True
    assert [c["name"] for c in error["details"]["diff"]["changes"] if c["breaking"]] == ["age"]


def test_breaking_change_type_and_choice_sentences(world: World) -> None:
    session = world.session
    old = SPEC_ESSAI + (
        "  - {name: tranche, type: single_choice, label: Tranche, choice_list: tranches}\n"
        "choice_lists:\n  tranches:\n    - {value: moins_6, label: Moins de 6 ans}\n"
        "    - {value: plus_6, label: 6 ans et plus}\n"
    )
    service.publish("essai", session=session, actor=SYSTEM, source=old)
    new = (
        old.replace("{name: age, type: integer", "{name: age, type: text")
        .replace("    - {value: moins_6, label: Moins de 6 ans}\n", "")
        .replace(', constraint: ". >= 0 and . < 130"', "")
        .replace(', relevant: "${age} >= 3"', "")
    )
    with pytest.raises(TerrainError) as caught:
        service.publish("essai", session=session, actor=SYSTEM, source=new, lang="fr")
    error = caught.value
    assert error.code == "spec.breaking_change" and error.status == 409
    assert "age, tranche, tranches.moins_6" in error.message("fr")
    messages = {entry["name"]: entry["message"] for entry in error.details["breaking"]}
    assert messages["age"].startswith("Le type de la question « age » passe de nombre entier à texte")
    assert messages["tranches.moins_6"].startswith(
        "Le choix « moins_6 » a disparu de la liste « tranches » (questions concernées : tranche)"
    )
    with pytest.raises(TerrainError) as english:
        service.publish("essai", session=session, actor=SYSTEM, source=new, lang="en")
    assert english.value.details["breaking"][0]["message"].startswith(
        'The type of item "age" changes from whole number to text'
    )


def test_name_mismatch(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("admin"))
    response = client.post("/api/v1/specs/autre/publish", json={"source": SPEC_ESSAI}, headers=headers)
    assert response.status_code == 422 and response.json()["error"]["code"] == "spec.name_mismatch"


def test_close_version(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("admin"))
    client.post("/api/v1/specs/essai/publish", json={"source": SPEC_ESSAI}, headers=headers)
    closed = client.post("/api/v1/specs/essai/versions/1/close", headers=headers)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert closed.json()["closed_at"]
    twice = client.post("/api/v1/specs/essai/versions/1/close", headers=headers)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "spec.version_not_published"
    # A closed version still counts as the latest one: same content stays a no-op.
    same = client.post("/api/v1/specs/essai/publish", json={"source": SPEC_ESSAI}, headers=headers)
    assert same.status_code == 200 and same.json()["changed"] is False


def test_diff_endpoint(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("coordinator"))
    client.post("/api/v1/specs/essai/publish", json={"source": SPEC_ESSAI}, headers=headers)
    client.post("/api/v1/specs", json={"source": SPEC_ESSAI_V2}, headers=headers)
    default = client.get("/api/v1/specs/essai/diff", headers=headers)
    assert default.status_code == 200, default.text
    assert default.json()["from"] == 1 and default.json()["to"] == "draft"
    assert default.json()["is_empty"] is False and default.json()["breaking"] is False
    client.post("/api/v1/specs/essai/publish", headers=headers)
    explicit = client.get("/api/v1/specs/essai/diff?from=1&to=2", headers=headers).json()
    assert (explicit["from"], explicit["to"]) == (1, 2)
    assert client.get("/api/v1/specs/essai/diff?from=1&to=7", headers=headers).status_code == 404


def test_published_version_is_immutable(world: World) -> None:
    session = world.session
    result = service.publish("essai", session=session, actor=SYSTEM, source=SPEC_ESSAI)
    session.commit()
    row = result.version
    with pytest.raises(TerrainError) as refused:
        service.update_published_version(row, source_yaml="x")
    assert refused.value.code == "spec.version_immutable"
    # Even bypassing the service, the ORM guard refuses the change.
    row.source_yaml = "modifié"
    with pytest.raises(TerrainError):
        session.flush()
    session.rollback()
    row = session.exec(select(SpecVersion)).one()
    assert row.source_yaml == SPEC_ESSAI
    row.status = "draft"
    with pytest.raises(TerrainError):
        session.flush()
    session.rollback()
    # Closing is the only allowed change.
    service.close_version("essai", 1, session=session, actor=SYSTEM)
    session.commit()
    row = session.exec(select(SpecVersion)).one()
    row.compiled = {}
    with pytest.raises(TerrainError):
        session.flush()
    session.rollback()


def test_visibility_and_listing_by_site(client: TestClient, world: World) -> None:
    own, other = world.site("aire-nord"), world.site("aire-sud")
    for name, site in (("spec_nord", "aire-nord"), ("spec_sud", "aire-sud")):
        service.publish(name, session=world.session, actor=SYSTEM, source=spec_named(name))
        service.assign_sites(name, [site], session=world.session, actor=SYSTEM)
    service.save_draft(spec_named("brouillon"), session=world.session, actor=SYSTEM)
    world.session.commit()
    fieldworker = world.user("fieldworker", sites=(own,))
    viewer = world.user("viewer", sites=(own, other))
    coordinator = world.user("coordinator", sites=(own,))

    def names(user: object) -> list[str]:
        response = client.get("/api/v1/specs", headers=world.headers(user))  # type: ignore[arg-type]
        assert response.status_code == 200
        return [spec["name"] for spec in response.json()]

    assert names(fieldworker) == ["spec_nord"]
    assert names(viewer) == ["spec_nord", "spec_sud"]
    assert names(coordinator) == ["brouillon", "spec_nord", "spec_sud"]
    listed = client.get("/api/v1/specs", headers=world.headers(fieldworker)).json()[0]
    assert listed["sites"] == ["aire-nord"] and listed["has_draft"] is None
    hidden = client.get("/api/v1/specs/spec_sud", headers=world.headers(fieldworker))
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "spec.not_found"
    version = client.get("/api/v1/specs/spec_nord/versions/1", headers=world.headers(fieldworker)).json()
    assert version["source_yaml"] is None and version["compiled"]["name"] == "spec_nord"


def test_coordinator_assigns_only_own_sites(client: TestClient, world: World) -> None:
    own, other = world.site("nord"), world.site("sud")
    service.publish("essai", session=world.session, actor=SYSTEM, source=SPEC_ESSAI)
    service.assign_sites("essai", ["sud"], session=world.session, actor=SYSTEM)
    world.session.commit()
    coordinator = world.user("coordinator", sites=(own,))
    headers = world.headers(coordinator)
    # Another site's spec: neither taken over nor shared by a coordinator who has no right on "sud".
    takeover = client.put("/api/v1/specs/essai/sites", json={"sites": ["nord"]}, headers=headers)
    assert takeover.status_code == 403 and takeover.json()["error"]["code"] == "auth.forbidden"
    shared = client.put("/api/v1/specs/essai/sites", json={"sites": ["nord", "sud"]}, headers=headers)
    assert shared.status_code == 403
    admin = world.headers(world.user("admin"))
    assert client.get("/api/v1/specs/essai", headers=admin).json()["sites"] == ["sud"]
    # An unassigned spec: the coordinator places it on their own sites, and takes it back.
    assert client.put("/api/v1/specs/essai/sites", json={"sites": []}, headers=admin).status_code == 200
    added = client.put("/api/v1/specs/essai/sites", json={"sites": ["nord"]}, headers=headers)
    assert added.status_code == 200 and added.json()["sites"] == ["nord"]
    removed = client.put("/api/v1/specs/essai/sites", json={"sites": []}, headers=headers)
    assert removed.status_code == 200 and removed.json()["sites"] == []
    refused = client.put("/api/v1/specs/essai/sites", json={"sites": ["sud"]}, headers=headers)
    assert refused.status_code == 403
    unknown = client.put("/api/v1/specs/essai/sites", json={"sites": ["inconnu"]}, headers=headers)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "site.not_found"
    replaced = client.put("/api/v1/specs/essai/sites", json={"sites": ["nord", "sud"]}, headers=admin)
    assert replaced.json()["sites"] == ["nord", "sud"]
    assert other.id is not None


def test_field_accounts_see_their_own_sites_and_open_specs_only(client: TestClient, world: World) -> None:
    world.site("nord"), world.site("sud")
    for name in ("partage", "clos"):
        service.publish(name, session=world.session, actor=SYSTEM, source=spec_named(name))
        service.assign_sites(name, ["nord", "sud"], session=world.session, actor=SYSTEM)
    service.close_version("clos", 1, session=world.session, actor=SYSTEM)
    world.session.commit()
    nord = world.session.exec(select(Site).where(Site.code == "nord")).one()
    fieldworker = world.headers(world.user("fieldworker", sites=(nord,)))
    listed = client.get("/api/v1/specs", headers=fieldworker).json()
    # The closed-only spec is not offered for collection; the shared one shows only the caller's site.
    assert [spec["name"] for spec in listed] == ["partage"]
    assert listed[0]["sites"] == ["nord"]
    detail = client.get("/api/v1/specs/partage", headers=fieldworker).json()
    assert detail["sites"] == ["nord"]
    # A closed version stays readable (records collected with it refer to it).
    closed = client.get("/api/v1/specs/clos/versions/1", headers=fieldworker)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"


def test_validate_checks_without_saving(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("coordinator"))
    checked = client.post("/api/v1/specs/validate", json={"source": SPEC_ESSAI}, headers=headers)
    assert checked.status_code == 200, checked.text
    assert checked.json()["name"] == "essai" and checked.json()["compiled"]["name"] == "essai"
    # Nothing was stored: no spec, no draft.
    assert client.get("/api/v1/specs/essai", headers=headers).status_code == 404
    assert all(spec["name"] != "essai" for spec in client.get("/api/v1/specs", headers=headers).json())

    broken = SPEC_ESSAI.replace("type: integer", "type: entier", 1)
    assert broken != SPEC_ESSAI
    refused = client.post(
        "/api/v1/specs/validate", json={"source": broken, "filename": "essai.yaml"}, headers=headers
    )
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "spec.invalid"
    issue = refused.json()["error"]["details"]["issues"][0]
    assert issue["file"] == "essai.yaml" and issue["line"] > 1 and issue["code"] == "unknown_type"
    assert client.get("/api/v1/specs/essai", headers=headers).status_code == 404


def test_spec_page_gives_the_drafts_source_to_its_editors_only(client: TestClient, world: World) -> None:
    coordinator = world.headers(world.user("coordinator"))
    assert client.post("/api/v1/specs", json={"source": SPEC_ESSAI}, headers=coordinator).status_code == 200
    detail = client.get("/api/v1/specs/essai", headers=coordinator).json()
    assert detail["draft_source"] == SPEC_ESSAI
    client.post("/api/v1/specs/essai/publish", headers=coordinator)
    assert client.get("/api/v1/specs/essai", headers=coordinator).json()["draft_source"] is None
