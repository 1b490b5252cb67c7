"""Large but legal work, against a real server: an XLSForm of 3,000 questions and a spec just under the
item limit are accepted, and the conversion and compilation run off the event loop (the health check keeps
answering within a second while they run)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import Workbook

from hostile.harness import Server, assert_bounded, while_running
from terrain.speclang.limits import MAX_ITEMS, MAX_SOURCE_BYTES

pytestmark = pytest.mark.hostile

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def big_xlsform(questions: int) -> bytes:
    workbook = Workbook(write_only=True)
    survey = workbook.create_sheet("survey")
    survey.append(["type", "name", "label::Français (fr)", "hint::Français (fr)", "required", "relevant"])
    for index in range(questions):
        kind = ("integer", "text", "select_one oui_non")[index % 3]
        relevant = f"${{q{index - 1}}} != ''" if index % 5 == 4 else None
        survey.append(
            [kind, f"q{index}", f"Question {index}", f"Aide {index}", "yes" if index % 2 else None, relevant]
        )
    choices = workbook.create_sheet("choices")
    choices.append(["list_name", "name", "label::Français (fr)"])
    choices.append(["oui_non", "oui", "Oui"])
    choices.append(["oui_non", "non", "Non"])
    settings = workbook.create_sheet("settings")
    settings.append(["form_id", "form_title"])
    settings.append(["grand_formulaire", "Grand formulaire"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_xlsform_of_3000_questions_imports_while_health_answers(server: Server) -> None:
    data = big_xlsform(3_000)

    def send() -> Any:
        with server.client(timeout=60) as client:
            return client.post(
                "/api/v1/specs/import-xlsform",
                files={"file": ("grand.xlsx", data, XLSX_TYPE)},
                data={"replace": "true"},
                headers=server.coordinator(),
            )

    run = while_running(server, send)
    assert_bounded(run, seconds=30, growth_mb=200)
    assert run.value.status_code == 200, run.value.text[:500]
    body = run.value.json()
    assert body["name"] == "grand_formulaire" and body["draft"]["status"] == "draft"
    assert not [entry for entry in body["report"] if entry["severity"] == "error"]
    assert len(run.health) >= 5, "the import was too quick to show anything"


def test_spec_just_under_the_item_limit_compiles_while_health_answers(server: Server) -> None:
    items = MAX_ITEMS - 100
    lines = [
        "spec: 1",
        "kind: questionnaire",
        "name: presque_trop",
        "title: Presque trop",
        "languages: [fr, en]",
        "items:",
    ]
    for index in range(items):
        relevant = f', relevant: "${{q{index - 1}}} > 3"' if index % 10 == 9 else ""
        lines.append(
            f"  - {{name: q{index}, type: integer, label: {{fr: 'Question {index}', en: 'Q {index}'}}, "
            f'constraint: ". >= 0 and . < 1000"{relevant}}}'
        )
    source = "\n".join(lines) + "\n"
    assert len(source.encode()) < MAX_SOURCE_BYTES

    def send() -> Any:
        with server.client(timeout=60) as client:
            return client.post(
                "/api/v1/specs", content=source, headers=server.admin(**{"Content-Type": "application/yaml"})
            )

    run = while_running(server, send)
    assert_bounded(run, seconds=30, growth_mb=200)
    assert run.value.status_code == 200, run.value.text[:500]
    assert run.value.json()["name"] == "presque_trop"
    assert len(run.health) >= 3, "the compilation was too quick to show anything"
