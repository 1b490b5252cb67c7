"""The one error catalog.

Every error the API returns has a stable ``code`` (e.g. ``spec.not_found``), an HTTP status and a
message in French (default) and English (``Accept-Language: en``). One exception handler turns any
exception into the same JSON body::

    {"error": {"code": "spec.not_found", "status": 404, "message": "…", "details": {…}}}

Unexpected exceptions become ``internal.error`` (500) without any stack trace in the response.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("terrain.errors")


@dataclass(frozen=True)
class ErrorDef:
    status: int
    fr: str
    en: str


CATALOG: dict[str, ErrorDef] = {
    # generic / HTTP
    "request.invalid": ErrorDef(422, "Requête invalide.", "Invalid request."),
    "http.not_found": ErrorDef(404, "Ressource introuvable.", "Resource not found."),
    "http.method_not_allowed": ErrorDef(405, "Méthode non autorisée.", "Method not allowed."),
    "http.error": ErrorDef(400, "Requête refusée.", "Request refused."),
    "request.malformed": ErrorDef(
        400,
        "Le corps de la requête est illisible (encodage UTF-8 ou format incorrect).",
        "The request body cannot be read (not UTF-8 or not in the expected format).",
    ),
    "request.too_large": ErrorDef(
        413,
        "La requête dépasse la taille maximale autorisée ({limit_mb} Mo) : envoyez un fichier plus petit.",
        "The request is larger than the allowed maximum ({limit_mb} MB): send a smaller file.",
    ),
    "request.too_deep": ErrorDef(
        400,
        "Le JSON envoyé est imbriqué sur {depth} niveaux ; le maximum est {max_depth}.",
        "The JSON sent is nested {depth} levels deep; the maximum is {max_depth}.",
    ),
    "internal.error": ErrorDef(500, "Erreur interne du serveur.", "Internal server error."),
    "server.busy": ErrorDef(
        503,
        "Le serveur est trop occupé en ce moment. Réessayez dans {retry_after} secondes.",
        "The server is too busy right now. Try again in {retry_after} seconds.",
    ),
    "db.conflict": ErrorDef(
        409,
        "Cette donnée vient d'être modifiée par une autre requête en même temps : rechargez et réessayez.",
        "This data was just changed by another request at the same time: reload and try again.",
    ),
    # authentication
    "auth.not_authenticated": ErrorDef(401, "Authentification requise.", "Authentication required."),
    "auth.invalid_token": ErrorDef(401, "Jeton invalide ou expiré.", "Invalid or expired token."),
    "auth.device_revoked": ErrorDef(
        401,
        "Cet appareil a été déconnecté de Terrain. Les données enregistrées sur l'appareil sont conservées : "
        "ne les effacez pas, reconnectez-vous avec votre mot de passe pour reprendre la synchronisation.",
        "This device was signed out of Terrain. The data saved on the device is kept: do not erase it, "
        "sign in again with your password to resume syncing.",
    ),
    "auth.invalid_credentials": ErrorDef(
        401, "Adresse e-mail ou mot de passe incorrect.", "Incorrect email or password."
    ),
    "auth.rate_limited": ErrorDef(
        429,
        "Trop de tentatives de connexion. Réessayez dans {retry_after} secondes.",
        "Too many login attempts. Try again in {retry_after} seconds.",
    ),
    "auth.busy": ErrorDef(
        503,
        "Le serveur traite trop de connexions à la fois. Réessayez dans {retry_after} secondes.",
        "The server is handling too many logins at once. Try again in {retry_after} seconds.",
    ),
    "auth.forbidden": ErrorDef(403, "Action non autorisée.", "Action not allowed."),
    "auth.interactive_login_required": ErrorDef(
        403,
        "Un jeton d'appareil ne peut pas créer d'autre jeton : connectez-vous avec votre mot de passe.",
        "A device token cannot create other tokens: log in with your password.",
    ),
    "auth.device_token_not_found": ErrorDef(404, "Jeton d'appareil introuvable.", "Device token not found."),
    # users
    "user.not_found": ErrorDef(404, "Utilisateur introuvable.", "User not found."),
    "user.email_taken": ErrorDef(
        409, "Un utilisateur existe déjà avec cette adresse.", "A user with this email already exists."
    ),
    "user.invalid_role": ErrorDef(422, "Rôle inconnu : {role}.", "Unknown role: {role}."),
    "user.weak_password": ErrorDef(
        422,
        "Le mot de passe doit contenir au moins {min_length} caractères.",
        "The password must be at least {min_length} characters long.",
    ),
    "user.last_admin": ErrorDef(
        409,
        "Impossible de retirer le dernier administrateur actif.",
        "Cannot remove the last active administrator.",
    ),
    # sites
    "site.not_found": ErrorDef(404, "Site introuvable : {code}.", "Site not found: {code}."),
    "site.code_taken": ErrorDef(
        409, "Le code de site {code} existe déjà.", "Site code {code} already exists."
    ),
    "site.invalid_code": ErrorDef(
        422,
        "Code de site invalide : {code} (minuscules, chiffres, tirets).",
        "Invalid site code: {code} (lowercase letters, digits, dashes).",
    ),
    # specs
    "spec.not_found": ErrorDef(404, "Spécification introuvable : {name}.", "Spec not found: {name}."),
    "spec.version_not_found": ErrorDef(
        404, "Version introuvable : {name} v{version}.", "Version not found: {name} v{version}."
    ),
    "spec.invalid": ErrorDef(
        422,
        "La spécification contient {count} erreur(s).",
        "The spec has {count} error(s).",
    ),
    "spec.name_mismatch": ErrorDef(
        422,
        "Le nom de la spécification ({found}) ne correspond pas à l'adresse ({expected}).",
        "The spec name ({found}) does not match the URL ({expected}).",
    ),
    "spec.no_draft": ErrorDef(
        409, "Aucun brouillon à publier pour {name}.", "No draft to publish for {name}."
    ),
    "spec.breaking_change": ErrorDef(
        409,
        "La nouvelle version de {name} casse la compatibilité avec la version {version} : {items}. "
        "Chaque changement refusé est expliqué, avec quoi faire à la place, dans details.breaking.",
        "The new version of {name} breaks compatibility with version {version}: {items}. "
        "Each refused change is explained, with what to do instead, in details.breaking.",
    ),
    "spec.draft_exists": ErrorDef(
        409,
        "Un brouillon de {name} existe déjà : renvoyez avec « replace » pour le remplacer.",
        "A draft of {name} already exists: send again with “replace” to overwrite it.",
    ),
    "spec.version_not_published": ErrorDef(
        409,
        "La version {version} de {name} n'est pas publiée (statut : {status}).",
        "Version {version} of {name} is not published (status: {status}).",
    ),
    "spec.version_immutable": ErrorDef(
        409,
        "Une version publiée ne peut pas être modifiée.",
        "A published version cannot be modified.",
    ),
    # attachments (docs/sync-protocol.md, "Pièces jointes")
    "attachment.not_found": ErrorDef(404, "Pièce jointe introuvable.", "Attachment not found."),
    "attachment.too_large": ErrorDef(
        413,
        "Ce fichier fait {size_mb} Mo ; le maximum accepté est {limit_mb} Mo.",
        "This file is {size_mb} MB; the largest accepted is {limit_mb} MB.",
    ),
    "attachment.media_type": ErrorDef(
        415,
        "Type de fichier non accepté : {media_type}. Types acceptés : {accepted}.",
        "File type not accepted: {media_type}. Accepted types: {accepted}.",
    ),
    "attachment.declaration_mismatch": ErrorDef(
        409,
        "Ce contenu (même empreinte SHA-256) est déjà déclaré avec {size} octets et le type {media_type}.",
        "This content (same SHA-256) is already declared with {size} bytes and type {media_type}.",
    ),
    "attachment.chunk_content_type": ErrorDef(
        415,
        "Un morceau de fichier s'envoie avec « Content-Type: application/offset+octet-stream ».",
        "A file chunk is sent with “Content-Type: application/offset+octet-stream”.",
    ),
    "attachment.offset_mismatch": ErrorDef(
        409,
        "Le serveur a déjà reçu {offset} octets de ce fichier : reprenez l'envoi à partir de là.",
        "The server already holds {offset} bytes of this file: resume the upload from there.",
    ),
    "attachment.beyond_size": ErrorDef(
        413,
        "Ce morceau dépasse la taille déclarée du fichier ({size} octets).",
        "This chunk goes beyond the declared size of the file ({size} bytes).",
    ),
    "attachment.checksum_mismatch": ErrorDef(
        422,
        "Le contenu reçu ne correspond pas à son empreinte SHA-256 : il a été effacé. "
        "Recalculez l'empreinte du fichier et renvoyez-le depuis le début.",
        "The content received does not match its SHA-256: it was discarded. "
        "Compute the file's hash again and send it from the start.",
    ),
    # XLSForm
    "xlsform.invalid": ErrorDef(
        422,
        "Le classeur XLSForm {filename} ne peut pas être importé : {count} erreur(s) (voir le rapport).",
        "The XLSForm workbook {filename} cannot be imported: {count} error(s) (see the report).",
    ),
    "xlsform.unsupported_kind": ErrorDef(
        409,
        "Un {kind} ne s'exporte pas en XLSForm (seuls les questionnaires et journaux d'observation).",
        "A {kind} cannot be exported as an XLSForm (only questionnaires and observation logs).",
    ),
    # sync: batch-level (HTTP) errors
    "sync.batch_too_large": ErrorDef(
        413,
        "Le lot contient {count} fiches ; le maximum est {limit} par envoi : envoyez-les en plusieurs lots.",
        "The batch holds {count} records; the maximum is {limit} per push: send them in several batches.",
    ),
    "sync.batch_id_reused": ErrorDef(
        409,
        "Ce numéro de lot ({batch_id}) a déjà servi pour d'autres fiches : chaque lot a son propre numéro.",
        "This batch id ({batch_id}) was already used for other records: each batch needs its own id.",
    ),
    # sync: per-record results (returned inside the push answer, never as an HTTP error)
    "sync.malformed_record": ErrorDef(
        422,
        "Fiche illisible ({field} : {reason}). Elle reste sur l'appareil ; signalez-le à votre coordinateur.",
        "Unreadable record ({field}: {reason}). It stays on the device; tell your coordinator.",
    ),
    "sync.unknown_spec": ErrorDef(
        422,
        "Le questionnaire {name} n'existe pas sur le serveur. La fiche reste sur l'appareil ; "
        "signalez-le à votre coordinateur.",
        "Questionnaire {name} does not exist on the server. The record stays on the device; "
        "tell your coordinator.",
    ),
    "sync.unknown_version": ErrorDef(
        422,
        "La version {version} de {name} n'est pas publiée sur le serveur. La fiche reste sur l'appareil ; "
        "signalez-le à votre coordinateur.",
        "Version {version} of {name} is not published on the server. The record stays on the device; "
        "tell your coordinator.",
    ),
    "sync.version_closed": ErrorDef(
        422,
        "La version {version} de {name} est close depuis le {closed_on} : les fiches ne sont plus acceptées "
        "après {grace_days} jours. La fiche reste sur l'appareil ; demandez à votre coordinateur.",
        "Version {version} of {name} was closed on {closed_on}: records are no longer accepted after "
        "{grace_days} days. The record stays on the device; ask your coordinator.",
    ),
    "sync.unknown_site": ErrorDef(
        422,
        "Le site {code} n'existe pas sur le serveur. La fiche reste sur l'appareil.",
        "Site {code} does not exist on the server. The record stays on the device.",
    ),
    "sync.site_forbidden": ErrorDef(
        403,
        "Votre compte ne peut pas envoyer de fiches pour le site {code}. La fiche reste sur l'appareil ; "
        "demandez à votre coordinateur de vous rattacher à ce site.",
        "Your account may not send records for site {code}. The record stays on the device; "
        "ask your coordinator to add you to this site.",
    ),
    "sync.duplicate_in_batch": ErrorDef(
        422,
        "La fiche {id} figure deux fois dans ce lot avec la même révision ; seule la première est traitée.",
        "Record {id} appears twice in this batch with the same revision; only the first one is processed.",
    ),
    # responses: the coordinator's review (docs/review-api.md)
    "response.not_found": ErrorDef(404, "Fiche introuvable : {id}.", "Record not found: {id}."),
    "response.revision_not_found": ErrorDef(
        404,
        "La fiche {id} n'a pas de version reçue d'identifiant {revision_id} (voir ses « revisions »).",
        "Record {id} has no received revision with id {revision_id} (see the record's “revisions”).",
    ),
    "response.conflict_unresolved": ErrorDef(
        409,
        "La fiche {id} est en conflit (plusieurs versions reçues) : choisissez d'abord la version à garder "
        "(POST …/resolve), puis donnez votre décision.",
        "Record {id} is in conflict (several revisions received): first choose the revision to keep "
        "(POST …/resolve), then give your decision.",
    ),
    "response.not_in_conflict": ErrorDef(
        409,
        "La fiche {id} n'est pas en conflit (état : {status}) : il n'y a rien à résoudre.",
        "Record {id} is not in conflict (status: {status}): there is nothing to resolve.",
    ),
}


class TerrainError(Exception):
    """An error of the catalog. ``params`` fill the message; ``details`` are returned as is."""

    def __init__(
        self,
        code: str,
        /,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> None:
        if code not in CATALOG:
            raise KeyError(f"unknown error code {code!r}")
        super().__init__(code)
        self.code = code
        self.params = params
        self.details = details or {}
        self.headers = headers

    @property
    def status(self) -> int:
        return CATALOG[self.code].status

    def message(self, lang: str = "fr") -> str:
        definition = CATALOG[self.code]
        template = definition.en if lang == "en" else definition.fr
        try:
            return template.format(**self.params)
        except (KeyError, IndexError, ValueError):
            return template

    def __str__(self) -> str:
        return f"{self.code}: {self.message('en')}"


class ErrorBody(BaseModel):
    code: str
    status: int
    message: str
    details: dict[str, Any] = {}


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorBody


_DESCRIPTIONS = {
    400: "Corps illisible ou JSON trop imbriqué / unreadable body or JSON nested too deeply "
    "(`request.malformed`, `request.too_deep`)",
    401: "Non authentifié / not authenticated (`auth.not_authenticated`, `auth.invalid_token`, "
    "`auth.device_revoked` : appareil déconnecté, garder ses données / device signed out, keep its data)",
    403: "Interdit pour ce rôle ou ce site / forbidden for this role or site (`auth.forbidden`)",
    404: "Introuvable ou non visible / not found or not visible",
    409: "Conflit / conflict (`db.conflict` : modification concurrente / concurrent change)",
    422: "Données invalides / invalid data (`request.invalid`, `spec.invalid`, …)",
    413: "Corps trop volumineux / body too large (`request.too_large`, limite dans le message)",
    429: "Trop de tentatives / rate limited (`auth.rate_limited`)",
    503: "Serveur occupé, réessayer après `Retry-After` / busy, retry after `Retry-After` (`auth.busy`, "
    "`server.busy`)",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting the error model for the given statuses."""
    return {status: {"model": ErrorResponse, "description": _DESCRIPTIONS[status]} for status in statuses}


def request_language(request: Request) -> str:
    """``en`` when the client prefers English (Accept-Language), else ``fr``."""
    header = request.headers.get("accept-language", "")
    best_lang, best_q = "fr", -1.0
    for part in header.split(","):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        if not tag:
            continue
        q = 1.0
        for extra in pieces[1:]:
            key, _, value = extra.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        primary = tag.split("-")[0]
        if primary in ("fr", "en") and q > best_q:
            best_lang, best_q = primary, q
    return best_lang


def _megabytes(size: int) -> str:
    value = size / (1024 * 1024)
    return f"{value:.0f}" if value >= 10 or value.is_integer() else f"{value:.1f}"


# Unique constraints whose violation has a meaning of its own, by constraint name (PostgreSQL) and by
# "table.column" (SQLite names the columns, not the constraint). Any other violation is ``db.conflict``.
_INTEGRITY_CODES: dict[str, str] = {
    "uq_users_email": "user.email_taken",
    "users.email": "user.email_taken",
}


def integrity_error(exc: IntegrityError) -> TerrainError:
    """A database integrity error (typically two requests racing for the same unique value) -> a catalog
    error: the one place where they are translated, so that a race is a 409, never a 500."""
    orig = exc.orig
    constraint = getattr(getattr(orig, "diag", None), "constraint_name", None)  # psycopg
    if constraint is None:  # sqlite3: "UNIQUE constraint failed: users.email"
        text = str(orig)
        constraint = text.split(":", 1)[1].strip() if ":" in text else None
    code = _INTEGRITY_CODES.get(constraint or "", "db.conflict")
    return TerrainError(code, details={"constraint": constraint} if code == "db.conflict" else {})


# Seconds a client is asked to wait when the database is saturated (503 ``server.busy``).
BUSY_RETRY_AFTER = 5


def _database_busy(exc: Exception) -> bool:
    """The database was not reachable in time: every pooled connection taken past the pool's timeout, or
    SQLite's write lock still held past its busy timeout (a burst of sync pushes). Overload, not a fault."""
    if isinstance(exc, PoolTimeoutError):
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def _to_terrain_error(exc: Exception) -> TerrainError:
    if isinstance(exc, TerrainError):
        return exc
    if isinstance(exc, IntegrityError):
        return integrity_error(exc)
    if _database_busy(exc):
        logger.warning("database busy (%s): answered 503 server.busy", type(exc).__name__)
        return TerrainError(
            "server.busy",
            retry_after=BUSY_RETRY_AFTER,
            details={"retry_after": BUSY_RETRY_AFTER},
            headers={"Retry-After": str(BUSY_RETRY_AFTER)},
        )
    if isinstance(exc, RequestValidationError):
        errors = [
            {
                "loc": [str(part) for part in err.get("loc", ())],
                "msg": err.get("msg"),
                "type": err.get("type"),
            }
            for err in exc.errors()
        ]
        return TerrainError("request.invalid", details={"errors": errors})
    if isinstance(exc, StarletteHTTPException):
        from terrain.limits import MAX_JSON_DEPTH, BodyTooLarge, JsonTooDeep

        if isinstance(exc, BodyTooLarge):
            return TerrainError(
                "request.too_large",
                limit_mb=_megabytes(exc.limit),
                details={"limit_bytes": exc.limit},
            )
        if isinstance(exc, JsonTooDeep):
            return TerrainError(
                "request.too_deep",
                depth=exc.depth,
                max_depth=MAX_JSON_DEPTH,
                details={"max_depth": MAX_JSON_DEPTH},
            )
        if exc.status_code == 400:  # FastAPI: a body it could not decode (not UTF-8, broken multipart)
            return TerrainError("request.malformed")
        if exc.status_code == 404:
            return TerrainError("http.not_found")
        if exc.status_code == 405:
            return TerrainError("http.method_not_allowed")
        error = TerrainError("http.error")
        error.details = {"status": exc.status_code}
        return error
    logger.error("unhandled exception %s", type(exc).__name__, exc_info=exc)
    return TerrainError("internal.error")


async def handle_error(request: Request, exc: Exception) -> JSONResponse:
    """The one exception handler: any exception -> the catalog's JSON body."""
    error = _to_terrain_error(exc)
    lang = request_language(request)
    status = error.status
    if error.code == "http.error" and isinstance(exc, StarletteHTTPException):
        status = exc.status_code
    body = {
        "error": {
            "code": error.code,
            "status": status,
            "message": error.message(lang),
            "details": error.details,
        }
    }
    return JSONResponse(body, status_code=status, headers=error.headers)


def install_error_handler(app: FastAPI) -> None:
    # The database's own exceptions are named so that they are answered like the others: the handler
    # for ``Exception`` answers too, but then re-raises, and uvicorn drops the connection.
    handled = (
        TerrainError,
        RequestValidationError,
        StarletteHTTPException,
        OperationalError,
        PoolTimeoutError,
    )
    for exc_type in (*handled, Exception):
        app.add_exception_handler(exc_type, handle_error)
