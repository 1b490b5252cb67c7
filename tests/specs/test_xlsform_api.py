"""XLSForm through the API: upload a workbook as a draft, download a version as a workbook (audited)."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from conftest import SPEC_ESSAI, World
from terrain.audit.models import AuditLog

ROOT = Path(__file__).resolve().parents[2]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(rows: list[list[str]], name: str = "visite") -> bytes:
    book = openpyxl.Workbook()
    survey = book.active
    assert survey is not None
    survey.title = "survey"
    for row in rows:
        survey.append(row)
    settings = book.create_sheet("settings")
    settings.append(["form_id", "form_title", "default_language"])
    settings.append([name, "Visite à domicile", "fr"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


GOOD = workbook(
    [
        ["type", "name", "label::Français (fr)", "relevant"],
        ["integer", "nb_enfants", "Nombre d'enfants", ""],
        ["text", "ecole", "École fréquentée", "${nb_enfants} > 0"],
    ]
)
BAD = workbook([["type", "name", "label"], ["integer", "age", "Âge"], ["integer", "age", "Âge encore"]])


def upload(client: TestClient, headers: dict[str, str], data: bytes, filename: str = "visite.xlsx") -> object:
    return client.post(
        "/api/v1/specs/import-xlsform", files={"file": (filename, data, XLSX)}, headers=headers
    )


def test_import_creates_a_draft_with_its_logic(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("coordinator"))
    response = client.post(
        "/api/v1/specs/import-xlsform", files={"file": ("visite.xlsx", GOOD, XLSX)}, headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "visite" and body["created"] is True and body["draft"]["version"] is None
    draft = client.get("/api/v1/specs/visite/diff?from=draft&to=draft", headers=headers)
    assert draft.status_code == 200 and draft.json()["is_empty"] is True
    published = client.post("/api/v1/specs/visite/publish", headers=headers)
    assert published.status_code == 201, published.text
    compiled = client.get("/api/v1/specs/visite/versions/1", headers=headers).json()["compiled"]
    ecole = next(item for item in compiled["items"] if item["name"] == "ecole")
    assert ecole["relevant"]["src"] == "${nb_enfants} > 0"


@pytest.mark.parametrize("lang, word", [("fr", "ligne"), ("en", "row")])
def test_refused_workbook_reports_sheet_and_row(
    client: TestClient, world: World, lang: str, word: str
) -> None:
    headers = world.headers(world.user("admin"), **{"Accept-Language": lang})
    response = client.post(
        "/api/v1/specs/import-xlsform", files={"file": ("doublon.xlsx", BAD, XLSX)}, headers=headers
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "xlsform.invalid" and "doublon.xlsx" in error["message"]
    errors = [entry for entry in error["details"]["report"] if entry["severity"] == "error"]
    assert errors and errors[0]["sheet"] == "survey" and errors[0]["row"] == 3
    assert "survey!3" in errors[0]["message"] and word not in error["message"]
    assert client.get("/api/v1/specs/visite", headers=headers).status_code == 404


def test_old_xls_is_refused_with_advice(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("admin"))
    ole = bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 512
    response = client.post(
        "/api/v1/specs/import-xlsform",
        files={"file": ("ancien.xls", ole, "application/vnd.ms-excel")},
        headers=headers,
    )
    assert response.status_code == 422
    messages = " ".join(entry["message"] for entry in response.json()["error"]["details"]["report"])
    assert ".xlsx" in messages


@pytest.mark.parametrize("role, status", [("fieldworker", 403), ("viewer", 403)])
def test_only_authors_import(client: TestClient, world: World, role: str, status: int) -> None:
    response = client.post(
        "/api/v1/specs/import-xlsform",
        files={"file": ("visite.xlsx", GOOD, XLSX)},
        headers=world.headers(world.user(role)),
    )
    assert response.status_code == status


def test_export_is_a_workbook_and_is_audited(client: TestClient, world: World) -> None:
    admin = world.user("admin")
    headers = world.headers(admin)
    assert (
        client.post("/api/v1/specs/essai/publish", json={"source": SPEC_ESSAI}, headers=headers).status_code
        == 201
    )
    response = client.get("/api/v1/specs/essai/versions/1/xlsform", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX
    assert 'filename="essai-v1.xlsx"' in response.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert {"survey", "choices", "settings"} <= set(book.sheetnames)
    names = [row[1] for row in book["survey"].iter_rows(min_row=2, values_only=True)]
    assert "age" in names and "scolarise" in names
    world.session.expire_all()
    entries = world.session.exec(select(AuditLog).where(AuditLog.action == "spec.exported")).all()
    assert [(e.actor_user_id, e.target_id, e.details["version"]) for e in entries] == [(admin.id, "essai", 1)]


def test_interview_guide_export_is_refused(client: TestClient, world: World) -> None:
    headers = world.headers(world.user("admin"))
    guide = (Path(__file__).resolve().parents[2] / "survey_specs" / "guide_epn.yaml").read_text(
        encoding="utf-8"
    )
    assert (
        client.post("/api/v1/specs/guide_epn/publish", json={"source": guide}, headers=headers).status_code
        == 201
    )
    response = client.get("/api/v1/specs/guide_epn/versions/1/xlsform", headers=headers)
    assert response.status_code == 409 and response.json()["error"]["code"] == "xlsform.unsupported_kind"


def test_second_workbook_with_the_same_form_id_does_not_overwrite_the_draft(
    client: TestClient, world: World
) -> None:
    headers = world.headers(world.user("coordinator"), **{"Accept-Language": "en"})
    first = client.post(
        "/api/v1/specs/import-xlsform", files={"file": ("visite.xlsx", GOOD, XLSX)}, headers=headers
    )
    assert first.status_code == 200
    other = workbook([["type", "name", "label"], ["text", "remarque", "Remarque"]])
    second = client.post(
        "/api/v1/specs/import-xlsform", files={"file": ("autre.xlsx", other, XLSX)}, headers=headers
    )
    assert second.status_code == 409
    error = second.json()["error"]
    assert (
        error["code"] == "spec.draft_exists"
        and "visite" in error["message"]
        and "replace" in error["message"]
    )
    kept = client.get("/api/v1/specs/visite/diff?from=draft&to=draft", headers=headers)
    assert kept.status_code == 200
    source = client.get("/api/v1/specs/visite", headers=headers).json()
    assert source["has_draft"] is True
    replaced = client.post(
        "/api/v1/specs/import-xlsform",
        files={"file": ("autre.xlsx", other, XLSX)},
        data={"replace": "true"},
        headers=headers,
    )
    assert replaced.status_code == 200 and replaced.json()["created"] is False
    published = client.post("/api/v1/specs/visite/publish", headers=headers)
    compiled = client.get(
        f"/api/v1/specs/visite/versions/{published.json()['version']}", headers=headers
    ).json()["compiled"]
    assert [item["name"] for item in compiled["items"]] == ["remarque"]
