"""Limits at the edge: request body sizes, JSON nesting depth and integer ranges, checked before any
parser or database sees the input.

The body limit is a plain ASGI middleware (it must run before FastAPI reads the body): a declared
``Content-Length`` over the limit is refused at once, and a body streamed without one is counted as it
arrives. JSON bodies are scanned for their nesting depth before ``json.loads`` runs (its C scanner
recurses). Every refusal is a catalog error, in the caller's language.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Path, Query
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from terrain.config import MIB

# Ids and version numbers are 32-bit in the schema: larger values are refused with 422 at the edge
# (SQLite raises OverflowError beyond 64 bits, PostgreSQL an out-of-range error beyond 32).
MAX_ID = 2**31 - 1
MAX_JSON_DEPTH = 64
# Text that is stored or looked up: PostgreSQL refuses U+0000 in text (a DataError, so a 500), so the schema
# refuses it first, with a documented 422.
NO_NUL = r"^[^\x00]*$"

RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="Identifiant / id")]
VersionNumber = Annotated[int, Path(ge=1, le=MAX_ID, description="Numéro de version / version number")]


def optional_id_query(description: str) -> Any:
    """A query parameter holding an id (bounded like path ids)."""
    return Query(default=None, ge=1, le=MAX_ID, description=description)


# The largest chunk of an attachment upload (PATCH /api/v1/attachments/{sha256}).
ATTACHMENT_CHUNK_BYTES = 8 * MIB


@dataclass(frozen=True)
class RouteLimit:
    method: str
    path: re.Pattern[str]
    max_bytes: int


# Routes whose bodies may be larger than the default (``max_body_bytes``, 1 MiB). A spec source is at
# most 2 MiB of YAML (speclang's limit); JSON escaping can double it. An XLSForm upload is at most
# 10 MiB, plus the multipart envelope.
ROUTE_LIMITS: tuple[RouteLimit, ...] = (
    RouteLimit("POST", re.compile(r"^/api/v1/specs$"), 5 * MIB),
    RouteLimit("POST", re.compile(r"^/api/v1/specs/[^/]+/publish$"), 5 * MIB),
    RouteLimit("POST", re.compile(r"^/api/v1/specs/import-xlsform$"), 10 * MIB + 64 * 1024),
    # A sync batch: up to 500 records in 5 MiB (docs/sync-protocol.md).
    RouteLimit("POST", re.compile(r"^/api/v1/sync/push$"), 5 * MIB),
    # One chunk of a resumable attachment upload (docs/sync-protocol.md): streamed to disk as it arrives.
    RouteLimit("PATCH", re.compile(r"^/api/v1/attachments/[^/]+$"), ATTACHMENT_CHUNK_BYTES),
)


def body_limit_for(method: str, path: str, default: int) -> int:
    for limit in ROUTE_LIMITS:
        if limit.method == method and limit.path.match(path):
            return limit.max_bytes
    return default


class BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive`` when the body passes its limit. An HTTPException so that FastAPI's body
    reading re-raises it as is; the error handler turns it into ``request.too_large``."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail="Content Too Large")
        self.limit = limit


class JsonTooDeep(StarletteHTTPException):
    def __init__(self, depth: int) -> None:
        super().__init__(status_code=400, detail="JSON nested too deeply")
        self.depth = depth


# A string runs to its closing quote, or to the end of the body when it has none: every quote then starts
# a match, so the scan stays linear (a body of unterminated escaped quotes took hours with a pattern that
# required the closing quote and retried from every following quote). The loop is unrolled and possessive
# (Python >= 3.11): ``(?:[^"\\]|\\.)*`` kept a backtracking entry per character, 600 MB for one 5 MiB string.
_JSON_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in ``body`` (strings ignored), without parsing it.
    Malformed input gives some number; the JSON parser reports the real problem afterwards."""
    brackets = _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", body))
    steps = (1 if byte in b"[{" else -1 for byte in brackets)
    return max(itertools.accumulate(steps, initial=0))


# Bodies this large have their depth measured in a worker thread, off the event loop.
DEPTH_SCAN_INLINE_BYTES = 64 * 1024


def _is_json(scope: Scope) -> bool:
    """A JSON media type, or none at all: FastAPI parses a body without Content-Type as JSON."""
    for key, value in scope.get("headers", ()):
        if key == b"content-type":
            media: bytes = value.split(b";")[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return True


def _is_chunked(scope: Scope) -> bool:
    return any(key == b"transfer-encoding" for key, _ in scope.get("headers", ()))


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    """Refuses bodies over their route's limit (413) and JSON bodies nested deeper than
    ``MAX_JSON_DEPTH`` (400), before the application reads them."""

    def __init__(self, app: ASGIApp, *, default_max_bytes: int) -> None:
        self.app = app
        self.default_max_bytes = default_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit_for(scope["method"], scope["path"], self.default_max_bytes)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, BodyTooLarge(limit))
            return
        has_body = bool(declared) or (declared is None and _is_chunked(scope))
        if has_body and _is_json(scope):
            # Small enough to hold (the limit says so, counted as it arrives when streamed without a
            # Content-Length): read it all, check its depth, then replay it.
            try:
                body = await _read_all(receive, limit)
            except BodyTooLarge as exc:
                await self._refuse(scope, receive, send, exc)
                return
            if len(body) > DEPTH_SCAN_INLINE_BYTES:  # up to a second of CPU for 5 MiB: not on the loop
                depth = await run_in_threadpool(json_depth, body)
            else:
                depth = json_depth(body)
            if depth > MAX_JSON_DEPTH:
                await self._refuse(scope, receive, send, JsonTooDeep(depth))
                return
            await self.app(scope, _replay(body, receive), send)
            return
        await self.app(scope, _counting(receive, limit), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
        # The one error handler renders it, so the body and language match every other error.
        from starlette.requests import Request

        from terrain.errors import handle_error

        response = await handle_error(Request(scope, receive), exc)
        await response(scope, receive, send)


async def _read_all(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect, as the server would

    return replay


def _counting(receive: Receive, limit: int) -> Receive:
    size = 0

    async def counted() -> Message:
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise BodyTooLarge(limit)
        return message

    return counted
