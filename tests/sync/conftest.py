"""Sync fixtures: a published spec assigned to a site, accounts, and record builders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from conftest import World
from terrain.principals import SYSTEM
from terrain.sites.models import Site
from terrain.specs import service as specs
from terrain.users.models import User

SPEC_SYNC = """\
spec: 1
kind: questionnaire
name: essai_sync
title: {fr: "Essai de synchronisation", en: "Sync trial"}
languages: [fr, en]
metadata: [start, end]
items:
  - {name: age, type: integer, label: "Âge", required: true, constraint: ". >= 0 and . < 130",
     constraint_message: "Entre 0 et 129 ans."}
  - {name: scolarise, type: yes_no, label: "Scolarisé ?", relevant: "${age} >= 3"}
  - name: enfants
    type: repeat
    label: Enfants
    items:
      - {name: prenom, type: text, label: "Prénom", sensitive: true}
  - {name: photo, type: photo, label: "Photo de l'emplacement"}
"""


def publish(session: Session, source: str, *sites: Site) -> None:
    compiled = specs.compile_source(source)
    specs.publish(compiled.name, session=session, actor=SYSTEM, source=source)
    if sites:
        specs.assign_sites(compiled.name, [site.code for site in sites], session=session, actor=SYSTEM)
    session.commit()


def record(
    *,
    site: str = "aire-nord",
    spec: str = "essai_sync",
    version: int = 1,
    answers: dict[str, Any] | None = None,
    record_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": record_id or str(uuid.uuid4()),
        "spec": spec,
        "version": version,
        "site": site,
        "answers": {"age": 8, "scolarise": "yes", "enfants": [{"prenom": "Léa"}]}
        if answers is None
        else answers,
        "started_at": "2026-11-20T09:00:00+01:00",
        "finished_at": "2026-11-20T09:12:00+01:00",
        "metadata": {"start": "2026-11-20T09:00:00+01:00", "end": "2026-11-20T09:12:00+01:00"},
    }
    body.update(extra)
    return body


@dataclass
class SyncWorld:
    world: World
    client: TestClient
    north: Site
    south: Site
    worker: User
    other_worker: User
    coordinator: User
    viewer: User

    def push(
        self, user: User, records: list[dict[str, Any]], batch_id: str | None = None, **headers: str
    ) -> Any:
        body: dict[str, Any] = {"records": records}
        if batch_id:
            body["batch_id"] = batch_id
        return self.client.post("/api/v1/sync/push", json=body, headers=self.world.headers(user, **headers))

    def pull(self, user: User, cursor: str | None = None, limit: int | None = None) -> Any:
        params: dict[str, Any] = {}
        if cursor is not None:
            params["cursor"] = cursor
        if limit is not None:
            params["limit"] = limit
        return self.client.get("/api/v1/sync/pull", params=params, headers=self.world.headers(user))


@pytest.fixture
def sync_world(world: World, client: TestClient) -> SyncWorld:
    north, south = world.site("aire-nord"), world.site("aire-sud")
    publish(world.session, SPEC_SYNC, north)
    return SyncWorld(
        world=world,
        client=client,
        north=north,
        south=south,
        worker=world.user("fieldworker", sites=(north,)),
        other_worker=world.user("fieldworker", sites=(north,)),
        coordinator=world.user("coordinator", sites=(north,)),
        viewer=world.user("viewer", sites=(north,)),
    )
