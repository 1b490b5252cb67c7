"""``GET /api/health`` (no authentication)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from terrain.health import service

router = APIRouter(prefix="/api", tags=["health"])


class DatabaseHealth(BaseModel):
    status: Literal["ok", "error"]
    backend: str
    revision: str | None


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    database: DatabaseHealth


@router.get(
    "/health",
    response_model=Health,
    summary="État du service et de la base de données",
    responses={503: {"model": Health, "description": "Base indisponible ou non migrée / database down"}},
)
def health(request: Request) -> JSONResponse:
    result = service.check(engine=request.app.state.engine)
    return JSONResponse(
        Health.model_validate(result).model_dump(), status_code=200 if result["status"] == "ok" else 503
    )
