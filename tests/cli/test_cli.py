from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import SPEC_ESSAI, SPEC_ESSAI_BREAKING, SPEC_ESSAI_V2, SPEC_INVALID, spec_named
from terrain.cli import app

runner = CliRunner()


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TERRAIN_DATABASE_URL", db_url)
    monkeypatch.setenv("TERRAIN_ENVIRONMENT", "development")
    for name in ("TERRAIN_LANG", "TERRAIN_ADMIN_EMAIL", "TERRAIN_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return db_url


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_validate_without_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TERRAIN_LANG", raising=False)
    write(tmp_path / "specs" / "ok.yaml", SPEC_ESSAI)
    ok = runner.invoke(app, ["specs", "validate", str(tmp_path / "specs")])
    assert ok.exit_code == 0, ok.output
    assert "1 fichier(s) vérifié(s) : 0 erreur(s)" in ok.output
    bad = write(tmp_path / "specs" / "bad.yaml", SPEC_INVALID)
    failed = runner.invoke(app, ["specs", "validate", str(tmp_path / "specs")])
    assert failed.exit_code == 1
    lines = [line for line in failed.output.splitlines() if line.startswith(str(bad))]
    assert lines and lines[0].split(":")[1].isdigit()
    english = runner.invoke(app, ["specs", "validate", str(bad)], env={"TERRAIN_LANG": "en"})
    assert english.exit_code == 1 and "1 file(s) checked" in english.output


def test_db_upgrade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERRAIN_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "Base de données à jour" in result.output
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0


def test_publish_is_idempotent_and_shows(cli_env: str, tmp_path: Path) -> None:
    folder = tmp_path / "survey_specs"
    write(folder / "essai.yaml", SPEC_ESSAI)
    write(folder / "autre.yaml", spec_named("autre"))
    first = runner.invoke(app, ["specs", "publish", str(folder)])
    assert first.exit_code == 0, first.output
    assert "autre : version 1 publiée" in first.output and "essai : version 1 publiée" in first.output
    second = runner.invoke(app, ["specs", "publish", str(folder)])
    assert "essai : inchangé (version 1)" in second.output
    quiet = runner.invoke(app, ["specs", "publish", str(folder), "--quiet"])
    assert (
        quiet.exit_code == 0
        and "inchangé (" not in quiet.output
        and "0 publiée(s), 2 inchangée(s)" in quiet.output
    )

    write(folder / "essai.yaml", SPEC_ESSAI_V2)
    third = runner.invoke(app, ["specs", "publish", str(folder / "essai.yaml")])
    assert "essai : version 2 publiée" in third.output
    write(folder / "essai.yaml", SPEC_ESSAI_BREAKING)
    breaking = runner.invoke(app, ["specs", "publish", str(folder / "essai.yaml"), "--quiet"])
    assert breaking.exit_code == 1 and "casse la compatibilité" in breaking.output
    # The refused change is named in a sentence, not dumped as JSON.
    assert "✗ incompatible : La question « age » a été supprimée" in breaking.output
    assert '"changes"' not in breaking.output

    shown = runner.invoke(app, ["specs", "show", "essai"])
    assert shown.exit_code == 0 and "v1 [published]" in shown.output and "v2 [published]" in shown.output
    as_json = runner.invoke(app, ["specs", "show", "essai", "--version", "1", "--json"])
    assert as_json.exit_code == 0 and '"name": "essai"' in as_json.output
    diff = runner.invoke(app, ["specs", "diff", "essai", "--from", "1", "--to", "2"])
    assert diff.exit_code == 0, diff.output
    assert diff.output.splitlines() == [
        "essai : version 1 → version 2",
        "  + Nouvelle question « remarque ».",
        "1 changement(s), tous compatibles.",
    ]
    english = runner.invoke(app, ["specs", "diff", "essai", "--from", "1", "--to", "2", "--lang", "en"])
    assert english.output.splitlines()[:2] == ["essai: version 1 → version 2", '  + New item "remarque".']
    raw = runner.invoke(app, ["specs", "diff", "essai", "--from", "1", "--to", "2", "--json"])
    data = json.loads(raw.output)
    assert (data["from"], data["to"], data["breaking"]) == (1, 2, False)
    assert [c["name"] for c in data["diff"]["changes"]] == ["remarque"]
    missing = runner.invoke(app, ["specs", "show", "inconnu"])
    assert missing.exit_code == 1 and "introuvable" in missing.output


def test_diff_two_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TERRAIN_LANG", raising=False)
    old = write(tmp_path / "old.yaml", SPEC_ESSAI)
    new = write(tmp_path / "new.yaml", SPEC_ESSAI_BREAKING)
    result = runner.invoke(app, ["specs", "diff", str(old), str(new)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "  ✗ incompatible : La question « age » a été supprimée : les réponses déjà collectées perdraient "
        'leur sens. Masquez-la plutôt avec relevant: "false()" ou gardez-la.',
        "  ~ La question « scolarise » a été modifiée (relevant).",
        "Changement incompatible : 1 sur 2 changement(s) ; la publication de cette version serait refusée "
        "(lignes ✗).",
    ]
    same = runner.invoke(app, ["specs", "diff", str(old), str(old)])
    assert "Aucune différence." in same.output


def test_diff_two_files_in_english_and_as_json(tmp_path: Path) -> None:
    old = write(tmp_path / "old.yaml", SPEC_ESSAI)
    new = write(tmp_path / "new.yaml", SPEC_ESSAI_BREAKING)
    english = runner.invoke(app, ["specs", "diff", str(old), str(new)], env={"TERRAIN_LANG": "en"})
    assert english.exit_code == 0, english.output
    lines = english.output.splitlines()
    assert lines[0].startswith('  ✗ breaking: Item "age" was removed: ')
    assert lines[-1].startswith("Breaking change: 1 of 2 change(s)")
    raw = runner.invoke(app, ["specs", "diff", str(old), str(new), "--json"])
    data = json.loads(raw.output)
    assert data["breaking"] is True
    assert [(c["name"], c["breaking"], c["reason"]) for c in data["changes"]] == [
        ("age", True, "item_removed"),
        ("scolarise", False, None),
    ]


def test_close_a_version(cli_env: str, tmp_path: Path) -> None:
    write(tmp_path / "essai.yaml", SPEC_ESSAI)
    assert runner.invoke(app, ["specs", "publish", str(tmp_path / "essai.yaml")]).exit_code == 0

    closed = runner.invoke(app, ["specs", "close", "essai", "1"])
    assert closed.exit_code == 0, closed.output
    assert closed.output.strip() == (
        "essai : version 1 close ; elle ne reçoit plus de nouvelles réponses mais reste consultable."
    )
    assert "v1 [closed]" in runner.invoke(app, ["specs", "show", "essai"]).output

    again = runner.invoke(app, ["specs", "close", "essai", "1"])
    assert again.exit_code == 0 and again.output.strip() == "essai : la version 1 est déjà close."
    english = runner.invoke(app, ["specs", "close", "essai", "1", "--lang", "en"])
    assert english.output.strip() == "essai: version 1 is already closed."

    missing = runner.invoke(app, ["specs", "close", "essai", "9"])
    assert missing.exit_code == 1
    assert "Version introuvable : essai v9." in missing.output
    assert "Versions de essai : v1 [closed]" in missing.output
    unknown = runner.invoke(app, ["specs", "close", "inconnu", "1"], env={"TERRAIN_LANG": "en"})
    assert unknown.exit_code == 1 and "Spec not found: inconnu." in unknown.output
    not_a_number = runner.invoke(app, ["specs", "close", "essai", "un"])
    assert not_a_number.exit_code != 0


def test_close_in_english(cli_env: str, tmp_path: Path) -> None:
    write(tmp_path / "essai.yaml", SPEC_ESSAI)
    runner.invoke(app, ["specs", "publish", str(tmp_path / "essai.yaml")])
    closed = runner.invoke(app, ["specs", "close", "essai", "1"], env={"TERRAIN_LANG": "en"})
    assert closed.exit_code == 0
    assert closed.output.strip() == "essai: version 1 closed; it takes no new responses but stays readable."


def test_users_sites_and_bootstrap(cli_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert runner.invoke(app, ["sites", "create", "aire-nord", "Aire du Nord"]).exit_code == 0
    assert runner.invoke(app, ["sites", "create", "aire-sud", "Aire du Sud"]).exit_code == 0
    dup = runner.invoke(app, ["sites", "create", "aire-nord", "X"])
    assert dup.exit_code == 1 and "existe déjà" in dup.output
    assert "aire-nord\tAire du Nord" in runner.invoke(app, ["sites", "list"]).output

    created = runner.invoke(
        app,
        ["users", "create", "--email", "Marie@example.org", "--role", "fieldworker", "--site", "aire-nord"],
        input="un-long-mot-de-passe\nun-long-mot-de-passe\n",
    )
    assert created.exit_code == 0, created.output
    assert "Utilisateur créé : marie@example.org" in created.output
    assert "un-long-mot-de-passe" not in created.output
    listed = runner.invoke(app, ["users", "list"]).output
    assert "marie@example.org\tfieldworker\taire-nord" in listed

    boot = runner.invoke(app, ["users", "bootstrap-admin"])
    assert boot.exit_code == 0 and "Administrateur créé : admin@terrain.local" in boot.output
    assert "affiché une seule fois" in boot.output
    again = runner.invoke(app, ["users", "bootstrap-admin"])
    assert "Un administrateur existe déjà" in again.output and "Mot de passe" not in again.output

    write(tmp_path / "essai.yaml", SPEC_ESSAI)
    runner.invoke(app, ["specs", "publish", str(tmp_path / "essai.yaml")])
    assigned = runner.invoke(app, ["sites", "assign-spec", "essai", "aire-nord"])
    assert assigned.exit_code == 0 and "essai : sites aire-nord" in assigned.output
    more = runner.invoke(app, ["sites", "assign-spec", "essai", "aire-sud"])
    assert "aire-nord, aire-sud" in more.output


def test_bootstrap_admin_from_environment(cli_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERRAIN_ADMIN_EMAIL", "chef@example.org")
    monkeypatch.setenv("TERRAIN_ADMIN_PASSWORD", "mot-de-passe-admin")
    result = runner.invoke(app, ["users", "bootstrap-admin", "--lang", "en"])
    assert result.exit_code == 0
    assert "Administrator created: chef@example.org" in result.output
    assert "mot-de-passe-admin" not in result.output and "Password" not in result.output


def test_example_site_gets_the_example_specs_once(cli_env: str, tmp_path: Path) -> None:
    write(tmp_path / "essai.yaml", SPEC_ESSAI)
    runner.invoke(app, ["specs", "publish", str(tmp_path / "essai.yaml")])
    write(tmp_path / "pas_publie.yaml", SPEC_ESSAI.replace("essai", "pas_publie"))
    first = runner.invoke(app, ["sites", "example", str(tmp_path)])
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "Site d'exemple aire-exemple : essai"
    assert runner.invoke(app, ["sites", "example", str(tmp_path)]).exit_code == 0  # idempotent
    assert "aire-exemple\tAire d'accueil (exemple)" in runner.invoke(app, ["sites", "list"]).output
    more = runner.invoke(app, ["sites", "assign-spec", "essai", "aire-exemple"])
    assert more.output.strip() == "essai : sites aire-exemple"
