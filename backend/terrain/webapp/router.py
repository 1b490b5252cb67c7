"""Serves the built PWA (``pwa/dist``) at ``/``; the API stays under ``/api``.

Hashed assets are cached for a year; ``index.html``, ``sw.js`` and the manifest are revalidated on every
visit, so a new build reaches devices at their next start (the service worker then waits for the user).
Any other path that is not a file gets ``index.html``: the app routes on the client.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope

# Paths the app never owns: an unknown API path must stay a JSON 404, not the app's page.
RESERVED_PREFIXES = ("/api/", "/docs")
NO_CACHE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"

NOT_BUILT = """<!doctype html><html lang="fr"><meta charset="utf-8"><title>Terrain</title>
<h1>L'application de terrain n'est pas construite</h1>
<p>Lancez <code>make run</code> (qui construit <code>pwa/dist</code>) ou indiquez le dossier de
l'application construite avec <code>TERRAIN_APP_DIR</code>. L'API est disponible :
<a href="/docs">documentation de l'API</a>.</p>
<p lang="en">The field app is not built: run <code>make run</code> or set <code>TERRAIN_APP_DIR</code>.</p>
</html>"""


def default_app_dir() -> Path:
    """``pwa/dist`` of the source checkout this package runs from."""
    return Path(__file__).resolve().parents[3] / "pwa" / "dist"


class _AppRoute(Route):
    """``GET /{path}`` for everything that is not the API: an unknown API path keeps the JSON 404 and a
    wrong method on an API path its 405."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].startswith(RESERVED_PREFIXES):
            return Match.NONE, {}
        return super().matches(scope)


def mount_app(app: FastAPI, app_dir: Path | None) -> None:
    """Add the app's route last, after every API route."""
    root = (app_dir or default_app_dir()).resolve()

    def serve(request: Request) -> Response:
        path = str(request.path_params.get("path", ""))
        index = root / "index.html"
        if not index.is_file():
            if path == "":
                return HTMLResponse(NOT_BUILT, status_code=503, headers={"Cache-Control": NO_CACHE})
            return RedirectResponse("/")
        target = (root / path).resolve()
        if path and target.is_relative_to(root) and target.is_file():
            headers = {"Cache-Control": IMMUTABLE if path.startswith("assets/") else NO_CACHE}
            if path == "sw.js":
                headers["Service-Worker-Allowed"] = "/"
            return FileResponse(target, headers=headers)
        return FileResponse(index, headers={"Cache-Control": NO_CACHE})

    app.router.routes.append(_AppRoute("/{path:path}", endpoint=serve, methods=["GET", "HEAD"]))
