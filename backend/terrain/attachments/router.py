"""Attachment endpoints: resumable, content-addressed uploads in the manner of tus 1.0, and downloads
(docs/sync-protocol.md, "Pièces jointes"). The work is in :mod:`terrain.attachments.service`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from terrain.attachments import service
from terrain.attachments.service import UploadState
from terrain.attachments.storage import AttachmentStore
from terrain.auth import authz
from terrain.auth.authz import Action
from terrain.auth.deps import CurrentPrincipal, SessionDep, SettingsDep, client_ip
from terrain.errors import ErrorResponse, TerrainError, error_responses
from terrain.limits import NO_NUL

router = APIRouter(prefix="/api/v1/attachments", tags=["attachments"])

SHA256 = r"^[0-9a-f]{64}$"
CHUNK_TYPE = "application/offset+octet-stream"
# Declared sizes beyond this are malformed (422); up to it, over the instance's limit, too large (413).
MAX_DECLARED_SIZE = 2**40
# Bytes gathered from the request before each write to the store: few thread hops, little memory.
WRITE_PIECE = 1024 * 1024
_OFFSET = re.compile(r"^[0-9]{1,13}$")
CACHE_FOREVER = "private, max-age=31536000, immutable"
# Filename extensions of the default media types (Content-Disposition), independent of the host's
# mime.types so that every server names a file alike.
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "audio/webm": ".webm",
    "audio/ogg": ".ogg",
    "audio/mp4": ".m4a",
    "audio/mpeg": ".mp3",
    "audio/wav": ".wav",
    "application/pdf": ".pdf",
}

Sha256Path = Annotated[
    str, Path(pattern=SHA256, description="SHA-256 du contenu, 64 chiffres hexadécimaux minuscules")
]


def get_store(request: Request) -> AttachmentStore:
    store: AttachmentStore = request.app.state.attachment_store
    return store


StoreDep = Annotated[AttachmentStore, Depends(get_store)]


class AttachmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sha256: str = Field(pattern=SHA256, description="SHA-256 du contenu entier, hexadécimal minuscule")
    size: int = Field(
        ge=1,
        le=MAX_DECLARED_SIZE,
        description="Taille en octets (au plus 100 Mio par défaut : TERRAIN_MAX_ATTACHMENT_BYTES ; 413 "
        "au-delà)",
    )
    media_type: str = Field(
        min_length=3,
        max_length=255,
        pattern=NO_NUL,
        description="Type du contenu ; paramètres acceptés et ignorés (`audio/webm;codecs=opus`). Par "
        "défaut : image/jpeg, image/png, image/webp, audio/webm, audio/ogg, audio/mp4, audio/mpeg, "
        "audio/wav, application/pdf (TERRAIN_ATTACHMENT_MEDIA_TYPES ; 415 sinon)",
        examples=["image/jpeg", "audio/webm;codecs=opus"],
    )


class AttachmentOut(BaseModel):
    sha256: str
    size: int
    media_type: str = Field(description="Sans paramètres / without parameters")
    offset: int = Field(description="Octets déjà reçus : envoyer la suite à partir de là")
    status: str = Field(description="`uploading` ou `complete` (rien à envoyer)")

    @classmethod
    def of(cls, state: UploadState) -> AttachmentOut:
        return cls(
            sha256=state.sha256,
            size=state.size,
            media_type=state.media_type,
            offset=state.offset,
            status=state.status,
        )


def _header(description: str, kind: str = "integer") -> dict[str, Any]:
    return {"description": description, "schema": {"type": kind}}


OFFSET_HEADER = _header("Octets reçus par le serveur / bytes the server holds")
LENGTH_HEADER = _header("Taille déclarée / declared size")
STATUS_HEADER = _header("`uploading` ou `complete`", "string")
UNSUPPORTED: dict[int | str, dict[str, Any]] = {
    415: {
        "model": ErrorResponse,
        "description": "Type non accepté / unsupported media type (`attachment.media_type`, "
        "`attachment.chunk_content_type`)",
    }
}


def _state_headers(state: UploadState) -> dict[str, str]:
    return {
        "Upload-Offset": str(state.offset),
        "Upload-Length": str(state.size),
        "Attachment-Status": state.status,
        "Cache-Control": "no-store",
    }


@router.post(
    "",
    response_model=AttachmentOut,
    status_code=201,
    summary="Déclarer l'envoi d'une pièce jointe (ou le reprendre)",
    description="Corps `{sha256, size, media_type}`. 201 : envoi créé, `offset` 0 ; envoyer le contenu "
    "par `PATCH` à l'adresse de `Location`. 200 : ce contenu est déjà connu — `status: complete` : rien à "
    "envoyer (même contenu, même empreinte) ; `status: uploading` : reprendre à `offset`. 409 "
    "`attachment.declaration_mismatch` : la même empreinte a été déclarée avec une autre taille ou un autre "
    "type. 413 `attachment.too_large`, 415 `attachment.media_type`.",
    responses={
        200: {
            "model": AttachmentOut,
            "description": "Déjà connu : complet, ou envoi en cours à reprendre / already known",
            "headers": {"Location": _header("Adresse de l'envoi", "string"), "Upload-Offset": OFFSET_HEADER},
        },
        201: {
            "description": "Envoi créé / upload created",
            "headers": {"Location": _header("Adresse de l'envoi", "string"), "Upload-Offset": OFFSET_HEADER},
        },
        **error_responses(401, 403, 409, 413, 422),
        **UNSUPPORTED,
    },
)
def create_upload(
    body: AttachmentIn,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
) -> AttachmentOut:
    state, created = service.create_upload(
        body.sha256,
        body.size,
        body.media_type,
        session=session,
        settings=settings,
        store=store,
        actor=principal,
        ip=client_ip(request),
    )
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"{router.prefix}/{state.sha256}"
    response.headers["Upload-Offset"] = str(state.offset)
    response.headers["Cache-Control"] = "no-store"
    return AttachmentOut.of(state)


@router.head(
    "/{sha256}",
    status_code=200,
    response_class=Response,
    summary="Où en est l'envoi d'une pièce jointe",
    description="Sans corps. `Upload-Offset` : octets reçus ; `Upload-Length` : taille déclarée ; "
    "`Attachment-Status` : `uploading` ou `complete`. Si `Upload-Offset` égale `Upload-Length` mais que "
    "l'état est `uploading` (le serveur s'est arrêté pendant la vérification), envoyer un `PATCH` vide à "
    "cet offset pour terminer.",
    responses={
        200: {
            "description": "État de l'envoi / upload state",
            "headers": {
                "Upload-Offset": OFFSET_HEADER,
                "Upload-Length": LENGTH_HEADER,
                "Attachment-Status": STATUS_HEADER,
            },
        },
        **error_responses(401, 403, 404),
    },
)
def upload_state(
    sha256: Sha256Path, principal: CurrentPrincipal, session: SessionDep, store: StoreDep
) -> Response:
    state = service.upload_state(sha256, session=session, store=store, actor=principal)
    return Response(status_code=200, headers=_state_headers(state))


def _upload_offset(request: Request) -> int:
    raw = (request.headers.get("upload-offset") or "").strip()
    if not _OFFSET.match(raw) or int(raw) > MAX_DECLARED_SIZE:
        error = {
            "loc": ["header", "Upload-Offset"],
            "msg": "Upload-Offset: a number of bytes (0 to 2^40) is required",
            "type": "upload_offset",
        }
        raise TerrainError("request.invalid", details={"errors": [error]})
    return int(raw)


def _content_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


@router.patch(
    "/{sha256}",
    status_code=204,
    summary="Envoyer un morceau de la pièce jointe, à partir de l'offset du serveur",
    description="Corps : les octets bruts (`Content-Type: application/offset+octet-stream`, 8 Mio au plus "
    "par morceau). En-tête `Upload-Offset` : doit égaler l'offset du serveur, sinon 409 "
    "`attachment.offset_mismatch` (`details.offset` et l'en-tête `Upload-Offset` donnent l'offset du "
    "serveur : reprendre de là). 204 avec le nouvel `Upload-Offset`. Au dernier octet, l'empreinte "
    "SHA-256 du contenu entier est vérifiée avant la réponse : 204, la pièce est complète ; 422 "
    "`attachment.checksum_mismatch`, le contenu reçu est effacé et l'envoi repart de 0. Un morceau qui "
    "dépasse la taille déclarée : 413 `attachment.beyond_size`. Un envoi interrompu garde les octets "
    "arrivés : `HEAD` puis reprendre.",
    responses={
        204: {
            "description": "Morceau enregistré / chunk stored",
            "headers": {"Upload-Offset": OFFSET_HEADER},
        },
        **error_responses(401, 403, 404, 409, 413, 422),
        **UNSUPPORTED,
    },
    openapi_extra={
        "parameters": [
            {
                "name": "Upload-Offset",
                "in": "header",
                "required": True,
                "description": "Position du premier octet de ce morceau / offset of this chunk's first byte",
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_DECLARED_SIZE},
            }
        ],
        "requestBody": {
            "required": True,
            "content": {CHUNK_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        },
    },
)
async def upload_chunk(
    sha256: Sha256Path,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    store: StoreDep,
) -> Response:
    authz.require(principal, Action.ATTACHMENT_UPLOAD)
    offset = _upload_offset(request)
    if service.normalize_media_type(request.headers.get("content-type", "")) != CHUNK_TYPE:
        raise TerrainError("attachment.chunk_content_type")
    state = await run_in_threadpool(
        service.check_chunk,
        sha256,
        offset,
        _content_length(request),
        session=session,
        store=store,
        actor=principal,
    )
    try:
        written = await _receive_chunk(request, store, state, offset)
    except _Disconnected as gone:
        # Keep what arrived before the connection dropped: the client resumes after it (HEAD).
        await _record(session, store, sha256, offset, gone.written)
        return Response(status_code=204)
    new_offset = await _record(session, store, sha256, offset, written)
    if new_offset == state.size and state.status == service.UPLOADING:
        await run_in_threadpool(
            service.complete_upload,
            sha256,
            session=session,
            store=store,
            actor=principal,
            ip=client_ip(request),
        )
    return Response(status_code=204, headers={"Upload-Offset": str(new_offset), "Cache-Control": "no-store"})


class _Disconnected(Exception):
    def __init__(self, written: int) -> None:
        super().__init__("client disconnected")
        self.written = written


async def _receive_chunk(request: Request, store: AttachmentStore, state: UploadState, offset: int) -> int:
    """Stream the body to the store at ``offset``, in pieces of about ``WRITE_PIECE`` bytes written from a
    worker thread (the event loop never waits on the disk). Returns the bytes written."""
    room = state.size - offset
    written = 0
    buffer = bytearray()

    async def flush() -> None:
        nonlocal written
        if buffer:
            await run_in_threadpool(store.write_at, state.sha256, offset + written, bytes(buffer))
            written += len(buffer)
            buffer.clear()

    try:
        async for piece in request.stream():
            if written + len(buffer) + len(piece) > room:
                raise service.beyond_size(state.size)
            buffer += piece
            if len(buffer) >= WRITE_PIECE:
                await flush()
    except ClientDisconnect:
        await flush()
        raise _Disconnected(written) from None
    await flush()
    return written


async def _record(session: Session, store: AttachmentStore, sha256: str, offset: int, written: int) -> int:
    return await run_in_threadpool(
        service.record_chunk, sha256, offset, written, session=session, store=store
    )


def _later_range(value: str | None) -> bool:
    """A ``Range`` that does not start at the first byte: the rest of a reading already audited."""
    if not value:
        return False
    match = re.match(r"^\s*bytes\s*=\s*([0-9]+)\s*-", value)
    return match is not None and int(match.group(1)) > 0


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in tags or "*" in tags


@router.get(
    "/{sha256}",
    response_class=Response,
    summary="Télécharger une pièce jointe",
    description="Pour qui l'a envoyée, et pour qui peut lire les fiches individuelles du site d'une fiche "
    "qui y fait référence ; pour tout autre : 404, comme pour un contenu inconnu. `ETag` : l'empreinte "
    "SHA-256 ; le contenu ne change jamais (`Cache-Control: private, max-age=31536000, immutable`). "
    "`Range` accepté (206). Chaque lecture est journalisée (`attachment.downloaded`), une fois par lecture "
    "(pas une fois par plage).",
    responses={
        200: {
            "description": "Le contenu, avec son type / the content, with its media type",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            "headers": {"ETag": _header("SHA-256 entre guillemets", "string")},
        },
        206: {
            "description": "Une plage du contenu / a range of the content",
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        },
        304: {"description": "Inchangé (If-None-Match) / not modified"},
        416: {"description": "Plage hors du contenu / range not satisfiable"},
        **error_responses(401, 404),
    },
)
def download(
    sha256: Sha256Path,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    store: StoreDep,
) -> Response:
    etag = f'"{sha256}"'
    not_modified = _matches(request.headers.get("if-none-match"), etag)
    row = service.open_download(
        sha256,
        session=session,
        store=store,
        actor=principal,
        ip=client_ip(request),
        audited=not not_modified and not _later_range(request.headers.get("range")),
    )
    headers = {
        "ETag": etag,
        "Cache-Control": CACHE_FOREVER,
        # User content: never sniffed into something executable, never rendered with our origin's rights.
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    if not_modified:
        return Response(status_code=304, headers=headers)
    filename = sha256 + EXTENSIONS.get(row.media_type, "")
    path = store.local_path(sha256)
    if path is not None:
        return FileResponse(
            path,
            media_type=row.media_type,
            headers=headers,
            filename=filename,
            content_disposition_type="attachment",
        )
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return StreamingResponse(_pieces(store, sha256), media_type=row.media_type, headers=headers)


def _pieces(store: AttachmentStore, sha256: str) -> Iterator[bytes]:
    # A sync generator: Starlette iterates it in a worker thread.
    with store.open(sha256) as handle:
        while piece := handle.read(WRITE_PIECE):
            yield piece
