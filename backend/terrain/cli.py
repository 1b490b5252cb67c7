"""The ``terrain`` command line (French by default; ``TERRAIN_LANG=en`` or ``--lang en`` for English)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlmodel import Session, col, select

from terrain.auth.service import SYSTEM
from terrain.config import Settings
from terrain.db import create_db_engine, migrate, session_scope
from terrain.errors import TerrainError

app = typer.Typer(help="Terrain : enquêtes de terrain / field surveys.", no_args_is_help=True)
db_app = typer.Typer(help="Base de données / database.", no_args_is_help=True)
specs_app = typer.Typer(help="Spécifications / specs.", no_args_is_help=True)
users_app = typer.Typer(help="Utilisateurs / users.", no_args_is_help=True)
sites_app = typer.Typer(help="Sites.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(specs_app, name="specs")
app.add_typer(users_app, name="users")
app.add_typer(sites_app, name="sites")

MESSAGES: dict[str, dict[str, str]] = {
    "fr": {
        "migrated": "Base de données à jour ({url}).",
        "validate_summary": (
            "{files} fichier(s) vérifié(s) : {errors} erreur(s), {warnings} avertissement(s)."
        ),
        "no_files": "Aucun fichier YAML trouvé dans : {paths}",
        "published": "{name} : version {version} publiée",
        "unchanged": "{name} : inchangé (version {version})",
        "publish_summary": "{published} publiée(s), {unchanged} inchangée(s), {failed} en échec.",
        "failed": "{file} : {message}",
        "breaking": (
            "Changement incompatible : {breaking} sur {total} changement(s) ; "
            "la publication de cette version serait refusée (lignes ✗)."
        ),
        "compatible": "{total} changement(s), tous compatibles.",
        "no_change": "Aucune différence.",
        "diff_header": "{name} : {old} → {new}",
        "version": "version {version}",
        "mark_breaking": "✗ incompatible : {text}",
        "mark_added": "+ {text}",
        "mark_removed": "- {text}",
        "mark_changed": "~ {text}",
        "closed": (
            "{name} : version {version} close ; elle ne reçoit plus de nouvelles réponses "
            "mais reste consultable."
        ),
        "already_closed": "{name} : la version {version} est déjà close.",
        "known_versions": "Versions de {name} : {versions}",
        "user_created": "Utilisateur créé : {email} (n° {id}, rôle {role})",
        "admin_exists": "Un administrateur existe déjà : {email}",
        "admin_created": "Administrateur créé : {email}",
        "admin_password": "Mot de passe (affiché une seule fois, à changer) : {password}",
        "site_created": "Site créé : {code}",
        "example_site": "Site d'exemple {code} : {specs}",
        "spec_sites": "{name} : sites {sites}",
        "versions": "versions",
        "draft": "brouillon",
        "none": "(aucun)",
        "xlsform_written": "Spécification écrite : {path} (à publier avec « terrain specs publish {path} »)",
        "xlsform_refused": "Import refusé : {file} ({errors} erreur(s)).",
        "xlsform_exported": "XLSForm écrit : {path}",
        "xlsform_kind": "Un {kind} ne s'exporte pas en XLSForm (seuls les questionnaires et journaux).",
        "output_exists": "{path} existe déjà (utilisez --force pour l'écraser).",
    },
    "en": {
        "migrated": "Database up to date ({url}).",
        "validate_summary": "{files} file(s) checked: {errors} error(s), {warnings} warning(s).",
        "no_files": "No YAML file found in: {paths}",
        "published": "{name}: version {version} published",
        "unchanged": "{name}: unchanged (version {version})",
        "publish_summary": "{published} published, {unchanged} unchanged, {failed} failed.",
        "failed": "{file}: {message}",
        "breaking": (
            "Breaking change: {breaking} of {total} change(s); publishing this version would be refused "
            "(✗ lines)."
        ),
        "compatible": "{total} change(s), all compatible.",
        "no_change": "No difference.",
        "diff_header": "{name}: {old} → {new}",
        "version": "version {version}",
        "mark_breaking": "✗ breaking: {text}",
        "mark_added": "+ {text}",
        "mark_removed": "- {text}",
        "mark_changed": "~ {text}",
        "closed": "{name}: version {version} closed; it takes no new responses but stays readable.",
        "already_closed": "{name}: version {version} is already closed.",
        "known_versions": "Versions of {name}: {versions}",
        "user_created": "User created: {email} (id {id}, role {role})",
        "admin_exists": "An administrator already exists: {email}",
        "admin_created": "Administrator created: {email}",
        "admin_password": "Password (shown only once, change it): {password}",
        "site_created": "Site created: {code}",
        "example_site": "Example site {code}: {specs}",
        "spec_sites": "{name}: sites {sites}",
        "versions": "versions",
        "draft": "draft",
        "none": "(none)",
        "xlsform_written": "Spec written: {path} (publish it with `terrain specs publish {path}`)",
        "xlsform_refused": "Import refused: {file} ({errors} error(s)).",
        "xlsform_exported": "XLSForm written: {path}",
        "xlsform_kind": "A {kind} cannot be exported as an XLSForm (only questionnaires and logs).",
        "output_exists": "{path} already exists (use --force to overwrite it).",
    },
}

LangOption = Annotated[
    str | None, typer.Option("--lang", help="fr | en (défaut : TERRAIN_LANG ou fr)", show_default=False)
]


def _lang(value: str | None = None) -> str:
    lang = (value or os.environ.get("TERRAIN_LANG") or "fr").lower()
    return "en" if lang.startswith("en") else "fr"


def _t(lang: str, key: str, **params: Any) -> str:
    return MESSAGES[lang][key].format(**params)


def _fail(error: TerrainError, lang: str) -> typer.Exit:
    typer.echo(error.message(lang), err=True)
    if error.details:
        typer.echo(json.dumps(error.details, ensure_ascii=False, indent=2, default=str), err=True)
    return typer.Exit(1)


@contextmanager
def _session() -> Iterator[Session]:
    engine = create_db_engine(Settings().database_url)
    try:
        with session_scope(engine) as session:
            yield session
    finally:
        engine.dispose()


def _speclang() -> Any:
    """The spec compiler, imported only by the commands that need it."""
    import terrain.speclang as speclang

    return speclang


def _yaml_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()))
        else:
            files.append(path)
    return files


# --- db ----------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Option(help="Révision cible")] = "head") -> None:
    """Appliquer les migrations (alembic upgrade head)."""
    settings = Settings()
    migrate(settings.database_url, revision)
    safe_url = settings.database_url.split("@")[-1]
    typer.echo(_t(_lang(), "migrated", url=safe_url))


# --- serve -------------------------------------------------------------------------------------


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Adresse d'écoute", envvar="TERRAIN_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port", envvar="PORT", min=1, max=65535)] = 8000,
) -> None:
    """Lancer le serveur HTTP (uvicorn)."""
    import uvicorn

    from terrain.main import create_app

    # proxy_headers off: uvicorn would believe X-Forwarded-For from any local peer. Terrain reads it
    # itself, only from the proxies listed in TERRAIN_TRUSTED_PROXIES.
    uvicorn.run(create_app(Settings()), host=host, port=port, proxy_headers=False)


# --- specs -------------------------------------------------------------------------------------


@specs_app.command("validate")
def specs_validate(
    paths: Annotated[list[Path], typer.Argument(help="Fichiers ou dossiers YAML")],
    lang: LangOption = None,
) -> None:
    """Valider des spécifications (sans base de données) ; code de sortie 1 en cas d'erreur."""
    speclang = _speclang()
    language = _lang(lang)
    files = _yaml_files(paths)
    if not files:
        typer.echo(_t(language, "no_files", paths=" ".join(map(str, paths))), err=True)
        raise typer.Exit(1)
    errors = warnings = 0
    for path in files:
        result = speclang.compile_file(path)
        for issue in result.issues:
            typer.echo(speclang.render(issue, lang=language))
        errors += len(result.errors)
        warnings += len(result.warnings)
    typer.echo(_t(language, "validate_summary", files=len(files), errors=errors, warnings=warnings))
    if errors:
        raise typer.Exit(1)


@specs_app.command("publish")
def specs_publish(
    paths: Annotated[list[Path], typer.Argument(help="Fichiers ou dossiers YAML")],
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="N'afficher que les changements et erreurs")
    ] = False,
    lang: LangOption = None,
) -> None:
    """Publier chaque *.yaml (idempotent : un contenu inchangé n'est pas republié)."""
    speclang = _speclang()
    from terrain.specs import service

    language = _lang(lang)
    files = _yaml_files(paths)
    if not files:
        # An empty folder is not an error (``make run`` on a fresh checkout); a missing path is.
        typer.echo(_t(language, "no_files", paths=" ".join(map(str, paths))), err=True)
        raise typer.Exit(0 if all(path.is_dir() for path in paths) else 1)
    published = unchanged = failed = 0
    engine = create_db_engine(Settings().database_url)
    try:
        for path in files:
            try:
                source = path.read_text(encoding="utf-8")
            except OSError as exc:
                typer.echo(_t(language, "failed", file=path, message=exc.strerror), err=True)
                failed += 1
                continue
            result = speclang.compile_text(source, str(path))
            for issue in result.issues:
                if not quiet or result.errors:
                    typer.echo(speclang.render(issue, lang=language), err=bool(result.errors))
            if not result.ok or result.compiled is None:
                failed += 1
                continue
            try:
                with session_scope(engine) as session:
                    outcome = service.publish(
                        str(result.compiled["name"]),
                        session=session,
                        actor=SYSTEM,
                        source=source,
                        filename=str(path),
                        lang=language,
                    )
                    name, number = outcome.spec.name, outcome.version.version
            except TerrainError as error:
                typer.echo(_t(language, "failed", file=path, message=error.message(language)), err=True)
                if error.details.get("breaking"):
                    # Sentences naming each refused change (already in ``language``), not the raw diff.
                    for entry in error.details["breaking"]:
                        typer.echo("  " + _t(language, "mark_breaking", text=entry["message"]), err=True)
                elif error.details and not quiet:
                    typer.echo(json.dumps(error.details, ensure_ascii=False, indent=2, default=str), err=True)
                failed += 1
                continue
            if outcome.changed:
                published += 1
                typer.echo(_t(language, "published", name=name, version=number))
            else:
                unchanged += 1
                if not quiet:
                    typer.echo(_t(language, "unchanged", name=name, version=number))
    finally:
        engine.dispose()
    typer.echo(_t(language, "publish_summary", published=published, unchanged=unchanged, failed=failed))
    if failed:
        raise typer.Exit(1)


def _version_label(ref: Any, language: str) -> str:
    return _t(language, "draft") if ref == "draft" else _t(language, "version", version=ref)


def _print_diff(difference: dict[str, Any], language: str, header: dict[str, Any] | None = None) -> None:
    """One sentence per change (``difference`` is ``SpecDiff.to_dict()``), breaking ones marked ✗."""
    if header is not None:
        typer.echo(
            _t(
                language,
                "diff_header",
                name=header["name"],
                old=_version_label(header["from"], language),
                new=_version_label(header["to"], language),
            )
        )
    if difference.get("is_empty"):
        typer.echo(_t(language, "no_change"))
        return
    described = _speclang().describe_diff(difference, language)
    for change, text in described:
        mark = "mark_breaking" if change.breaking else f"mark_{change.op}"
        typer.echo("  " + _t(language, mark, text=text))
    total = len(described)
    breaking = sum(1 for change, _ in described if change.breaking)
    if breaking:
        typer.echo(_t(language, "breaking", breaking=breaking, total=total))
    else:
        typer.echo(_t(language, "compatible", total=total))


@specs_app.command("diff")
def specs_diff(
    first: Annotated[str, typer.Argument(help="NOM d'une spécification publiée, ou ANCIEN.yaml")],
    second: Annotated[str | None, typer.Argument(help="NOUVEAU.yaml (avec ANCIEN.yaml)")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="Version de départ (ou draft)")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Version d'arrivée (ou draft)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Sortie JSON brute (pour les scripts)")] = False,
    lang: LangOption = None,
) -> None:
    """Différences entre deux versions publiées d'une spécification, ou entre deux fichiers YAML : une
    phrase par changement, les changements incompatibles marqués ✗ (--json : le diff brut)."""
    speclang = _speclang()
    language = _lang(lang)
    if second is not None:
        compiled = []
        for name in (first, second):
            result = speclang.compile_file(Path(name))
            for issue in result.issues:
                typer.echo(speclang.render(issue, lang=language), err=True)
            if not result.ok or result.compiled is None:
                raise typer.Exit(1)
            compiled.append(result.compiled)
        difference = speclang.diff(compiled[0], compiled[1])
        if as_json:
            typer.echo(json.dumps(difference.to_dict(), ensure_ascii=False, indent=2, default=str))
        else:
            _print_diff(difference.to_dict(), language)
        return
    from terrain.specs import service

    try:
        with _session() as session:
            data = service.diff_versions(first, session=session, actor=SYSTEM, from_ref=from_, to_ref=to)
    except TerrainError as error:
        raise _fail(error, language) from None
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        _print_diff(data["diff"], language, header=data)


@specs_app.command("close")
def specs_close(
    name: Annotated[str, typer.Argument(help="Nom de la spécification")],
    version: Annotated[int, typer.Argument(help="Numéro de la version à clore")],
    lang: LangOption = None,
) -> None:
    """Clore une version publiée : plus de nouvelles réponses, mais elle reste consultable."""
    from terrain.specs import service
    from terrain.specs.models import VersionStatus

    language = _lang(lang)
    try:
        with _session() as session:
            service.close_version(name, version, session=session, actor=SYSTEM)
    except TerrainError as error:
        if error.code == "spec.version_not_published" and error.params.get("status") == VersionStatus.closed:
            typer.echo(_t(language, "already_closed", name=name, version=version))
            return
        if error.code == "spec.version_not_found":
            typer.echo(error.message(language), err=True)
            _echo_known_versions(name, language)
            raise typer.Exit(1) from None
        raise _fail(error, language) from None
    typer.echo(_t(language, "closed", name=name, version=version))


def _echo_known_versions(name: str, language: str) -> None:
    """The versions of ``name`` with their status, to help after a wrong version number."""
    from terrain.specs import service

    try:
        with _session() as session:
            rows = service.versions(
                service.get_visible_spec(name, session=session, actor=SYSTEM), session=session
            )
            listed = ", ".join(f"v{row.version} [{row.status}]" for row in rows)
    except TerrainError:
        return
    typer.echo(_t(language, "known_versions", name=name, versions=listed or _t(language, "none")), err=True)


@specs_app.command("show")
def specs_show(
    name: Annotated[str, typer.Argument(help="Nom de la spécification")],
    version: Annotated[int | None, typer.Option("--version", help="Numéro de version")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Sortie JSON (version compilée)")] = False,
    lang: LangOption = None,
) -> None:
    """Afficher une spécification (versions) ou une version compilée."""
    from terrain.sites.service import site_codes
    from terrain.specs import service

    language = _lang(lang)
    try:
        with _session() as session:
            spec = service.get_visible_spec(name, session=session, actor=SYSTEM)
            rows = service.versions(spec, session=session)
            if version is None and as_json:
                version = rows[-1].version if rows else None
            if version is not None:
                _, row = service.get_version(name, version, session=session, actor=SYSTEM)
                if as_json:
                    typer.echo(json.dumps(row.compiled, ensure_ascii=False, indent=2))
                else:
                    typer.echo(f"{spec.name} v{row.version} [{row.status}] {row.content_hash}")
                return
            draft = service.draft_of(spec, session=session)
            sites = site_codes(service.spec_site_ids(spec, session=session), session=session)
            title = spec.title.get(language) or spec.title.get("fr") or ""
            typer.echo(f"{spec.name} ({spec.kind}) — {title}")
            typer.echo(f"sites: {', '.join(sites) or _t(language, 'none')}")
            typer.echo(_t(language, "versions") + ":")
            for row in rows:
                published_at = row.published_at.isoformat(timespec="seconds") if row.published_at else ""
                typer.echo(f"  v{row.version} [{row.status}] {published_at} {row.content_hash[:12]}")
            if draft is not None:
                typer.echo(f"  {_t(language, 'draft')} {draft.content_hash[:12]}")
    except TerrainError as error:
        raise _fail(error, language) from None


@specs_app.command("import-xlsform")
def specs_import_xlsform(
    workbook: Annotated[Path, typer.Argument(help="Classeur XLSForm (.xlsx)")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="YAML à écrire (défaut : à côté du classeur)"),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Écraser le fichier de sortie")] = False,
    lang: LangOption = None,
) -> None:
    """Convertir un XLSForm en spécification YAML et afficher le rapport d'import (sans base de données)."""
    from terrain.xlsform import import_xlsform, render_message

    language = _lang(lang)
    target = output or workbook.with_suffix(".yaml")
    if target.exists() and not force:
        typer.echo(_t(language, "output_exists", path=target), err=True)
        raise typer.Exit(1)
    try:
        data = workbook.read_bytes()
    except OSError as exc:
        typer.echo(_t(language, "failed", file=workbook, message=exc.strerror), err=True)
        raise typer.Exit(1) from None
    result = import_xlsform(data, workbook.name)
    for message in result.report:
        typer.echo(render_message(message, language), err=not result.ok)
    if not result.ok or result.yaml_text is None:
        errors = sum(1 for m in result.report if str(getattr(m.severity, "value", m.severity)) == "error")
        typer.echo(_t(language, "xlsform_refused", file=workbook, errors=errors), err=True)
        raise typer.Exit(1)
    target.write_text(result.yaml_text, encoding="utf-8")
    typer.echo(_t(language, "xlsform_written", path=target))


@specs_app.command("export-xlsform")
def specs_export_xlsform(
    spec: Annotated[str, typer.Argument(help="NOM d'une spécification publiée, ou FICHIER.yaml")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Classeur .xlsx à écrire")],
    version: Annotated[
        int | None, typer.Option("--version", help="Numéro de version (défaut : la dernière)")
    ] = None,
    lang: LangOption = None,
) -> None:
    """Écrire un questionnaire (publié, ou fichier YAML) au format XLSForm."""
    from terrain.xlsform import ExportError, export_xlsform

    language = _lang(lang)
    source = Path(spec)
    if source.suffix in (".yaml", ".yml") and source.exists():
        speclang = _speclang()
        result = speclang.compile_file(source)
        for issue in result.issues:
            typer.echo(speclang.render(issue, lang=language), err=True)
        if not result.ok or result.compiled is None:
            raise typer.Exit(1)
        try:
            data = export_xlsform(result.compiled)
        except ExportError:
            typer.echo(_t(language, "xlsform_kind", kind=result.compiled.get("kind")), err=True)
            raise typer.Exit(1) from None
    else:
        from terrain.specs import service

        try:
            with _session() as session:
                if version is None:
                    latest = service.latest_version(
                        service.get_visible_spec(spec, session=session, actor=SYSTEM), session=session
                    )
                    if latest is None or latest.version is None:
                        raise TerrainError("spec.version_not_found", name=spec, version=1)
                    version = latest.version
                _, data = service.export_xlsform(spec, version, session=session, actor=SYSTEM)
        except TerrainError as error:
            raise _fail(error, language) from None
    output.write_bytes(data)
    typer.echo(_t(language, "xlsform_exported", path=output))


# --- users -------------------------------------------------------------------------------------


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Adresse e-mail (identifiant)")],
    role: Annotated[str, typer.Option(help="admin | coordinator | fieldworker | viewer")],
    password: Annotated[str | None, typer.Option(help="Mot de passe (demandé si absent)")] = None,
    site: Annotated[list[str] | None, typer.Option("--site", help="Code de site (répétable)")] = None,
    name: Annotated[str, typer.Option("--name", help="Nom affiché")] = "",
    language: Annotated[str, typer.Option("--language", help="Langue préférée : fr | en")] = "fr",
    lang: LangOption = None,
) -> None:
    """Créer un utilisateur."""
    from terrain.users import service

    out = _lang(lang)
    if password is None:
        password = typer.prompt(
            "Mot de passe" if out == "fr" else "Password", hide_input=True, confirmation_prompt=True
        )
    try:
        with _session() as session:
            user = service.create_user(
                email,
                password,
                role,
                session=session,
                actor=SYSTEM,
                display_name=name,
                language=language,
                site_codes=site or [],
            )
            typer.echo(_t(out, "user_created", email=user.email, id=user.id, role=user.role))
    except TerrainError as error:
        raise _fail(error, out) from None


@users_app.command("list")
def users_list() -> None:
    """Lister les utilisateurs."""
    from terrain.sites.service import site_codes
    from terrain.users import service

    with _session() as session:
        for user in service.list_users(session=session, actor=SYSTEM):
            assert user.id is not None
            sites = ",".join(site_codes(service.user_site_ids(user.id, session=session), session=session))
            state = "" if user.active else " (inactive)"
            typer.echo(f"{user.id}\t{user.email}\t{user.role}\t{sites or '-'}{state}")


@users_app.command("bootstrap-admin")
def users_bootstrap_admin(lang: LangOption = None) -> None:
    """Créer le premier administrateur (TERRAIN_ADMIN_EMAIL / TERRAIN_ADMIN_PASSWORD, sinon mot de passe
    généré affiché une fois). Sans effet si un administrateur existe."""
    from terrain.users import service

    out = _lang(lang)
    settings = Settings()
    password = settings.admin_password.get_secret_value() if settings.admin_password else None
    try:
        with _session() as session:
            result = service.bootstrap_admin(session=session, email=settings.admin_email, password=password)
    except TerrainError as error:
        raise _fail(error, out) from None
    if not result.created:
        typer.echo(_t(out, "admin_exists", email=result.email))
        return
    typer.echo(_t(out, "admin_created", email=result.email))
    if result.generated_password:
        typer.echo(_t(out, "admin_password", password=result.generated_password))


# --- sites -------------------------------------------------------------------------------------


@sites_app.command("create")
def sites_create(
    code: Annotated[str, typer.Argument(help="Code (minuscules, chiffres, tirets)")],
    name: Annotated[str, typer.Argument(help="Nom")],
    description: Annotated[str, typer.Option(help="Description")] = "",
    lang: LangOption = None,
) -> None:
    """Créer un site."""
    from terrain.sites import service

    out = _lang(lang)
    try:
        with _session() as session:
            site = service.create_site(code, name, description, session=session, actor=SYSTEM)
            typer.echo(_t(out, "site_created", code=site.code))
    except TerrainError as error:
        raise _fail(error, out) from None


@sites_app.command("list")
def sites_list() -> None:
    """Lister les sites."""
    from terrain.sites import service

    with _session() as session:
        for site in service.list_sites(session=session, actor=SYSTEM):
            typer.echo(f"{site.code}\t{site.name}")


@sites_app.command("assign-spec")
def sites_assign_spec(
    spec: Annotated[str, typer.Argument(help="Nom de la spécification")],
    sites: Annotated[list[str], typer.Argument(help="Codes des sites")],
    replace: Annotated[bool, typer.Option("--replace", help="Remplacer au lieu d'ajouter")] = False,
    lang: LangOption = None,
) -> None:
    """Affecter une spécification à des sites (ajout ; --replace pour remplacer)."""
    from terrain.sites.models import Site
    from terrain.sites.service import site_codes
    from terrain.specs import service

    out = _lang(lang)
    try:
        with _session() as session:
            codes = list(sites)
            if not replace:
                current = service.spec_site_ids(
                    service.get_visible_spec(spec, session=session, actor=SYSTEM), session=session
                )
                codes = list(session.exec(select(Site.code).where(col(Site.id).in_(current))).all()) + codes
            site_ids = service.assign_sites(spec, codes, session=session, actor=SYSTEM)
            typer.echo(
                _t(out, "spec_sites", name=spec, sites=", ".join(site_codes(site_ids, session=session)))
            )
    except TerrainError as error:
        raise _fail(error, out) from None


@sites_app.command("example")
def sites_example(
    specs_dir: Annotated[Path, typer.Argument(help="Dossier des spécifications d'exemple")] = Path(
        "survey_specs"
    ),
    code: Annotated[str, typer.Option(help="Code du site d'exemple")] = "aire-exemple",
    name: Annotated[str, typer.Option(help="Nom du site d'exemple")] = "Aire d'accueil (exemple)",
    lang: LangOption = None,
) -> None:
    """Le site d'exemple de « make run » : créé s'il manque, avec les spécifications publiées de SPECS_DIR
    (idempotent), pour essayer l'application de terrain tout de suite."""
    from terrain.sites.models import Site
    from terrain.sites.service import create_site, site_codes
    from terrain.specs import service
    from terrain.specs.models import Spec

    out = _lang(lang)
    try:
        with _session() as session:
            site = session.exec(select(Site).where(Site.code == code)).first()
            if site is None:
                site = create_site(code, name, session=session, actor=SYSTEM)
            assigned = []
            for path in sorted(specs_dir.glob("*.yaml")):
                spec = session.exec(select(Spec).where(Spec.name == path.stem)).first()
                if spec is None or service.latest_version(spec, session=session) is None:
                    continue
                current = site_codes(service.spec_site_ids(spec, session=session), session=session)
                if code not in current:
                    service.assign_sites(spec.name, [*current, code], session=session, actor=SYSTEM)
                assigned.append(spec.name)
            typer.echo(_t(out, "example_site", code=code, specs=", ".join(assigned) or _t(out, "none")))
    except TerrainError as error:
        raise _fail(error, out) from None


def main() -> None:  # pragma: no cover - convenience for `python -m terrain.cli`
    app(prog_name="terrain")


if __name__ == "__main__":  # pragma: no cover
    main()
