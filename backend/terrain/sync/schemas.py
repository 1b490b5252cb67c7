"""What devices send and receive (docs/sync-protocol.md). These models are the OpenAPI contract."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, WithJsonSchema

from terrain.limits import NO_NUL

SHA256 = r"^[0-9a-f]{64}$"
SITE_CODE = r"^[a-z0-9][a-z0-9-]{0,62}$"
SPEC_NAME = r"^[a-z][a-z0-9_]{1,62}$"
ITEM_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
UUID_TEXT = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
MAX_REVISION = 2**31 - 1

PushResult = Literal["created", "duplicate", "revised", "conflict", "needs_review", "rejected"]


class AttachmentRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sha256: str = Field(pattern=SHA256, description="SHA-256 du contenu, hexadécimal minuscule")
    media_type: str = Field(min_length=3, max_length=100, pattern=NO_NUL)
    size: int = Field(ge=0, le=2**40)
    item: str = Field(pattern=ITEM_NAME, description="La question (photo, audio, fichier) qui l'a produit")


class RecordIn(BaseModel):
    """One record (a questionnaire filled once, an interview, an observation entry)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=UUID_TEXT, description="UUID généré par l'appareil : la clé d'idempotence")
    spec: str = Field(pattern=SPEC_NAME)
    version: int = Field(
        ge=1, le=MAX_REVISION, description="Version publiée avec laquelle la fiche a été remplie"
    )
    site: str = Field(pattern=SITE_CODE, description="Code du site où la fiche a été recueillie")
    revision: int = Field(default=1, ge=1, le=MAX_REVISION)
    base_revision: int | None = Field(
        default=None,
        ge=1,
        le=MAX_REVISION,
        description="La révision que l'appareil a modifiée (absent : 1re révision)",
    )
    started_at: AwareDatetime | None = None
    finished_at: AwareDatetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict, description="Métadonnées demandées par la spec")
    answers: dict[str, Any] = Field(
        description="Réponses par nom de question ; une répétition est une liste d'objets"
    )
    interview: dict[str, Any] | None = Field(
        default=None, description="Entretiens seulement : public, consentement, enregistrement, déroulé"
    )
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=200)

    def canonical_id(self) -> str:
        return self.id.lower()


class PushIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    batch_id: str | None = Field(
        default=None,
        pattern=UUID_TEXT,
        description="UUID du lot (conseillé) : un lot renvoyé avec le même numéro reçoit exactement "
        "la même réponse",
    )
    # Each record is checked on its own, so one unreadable record does not refuse its batch: the
    # schema documents RecordIn, the model accepts anything and the flow validates record by record.
    records: list[Annotated[Any, WithJsonSchema({"$ref": "#/components/schemas/RecordIn"})]] = Field(
        description="Les fiches (au plus 500 par lot), chacune un objet `Record`"
    )


class RecordResult(BaseModel):
    index: int = Field(description="Position de la fiche dans le lot")
    id: str | None
    result: PushResult
    status: Literal["accepted", "needs_review", "conflict"] | None = Field(
        default=None, description="État de la fiche sur le serveur après ce lot (absent si refusée)"
    )
    revision: int | None = Field(default=None, description="Révision courante sur le serveur")
    problems: list[dict[str, Any]] = Field(default_factory=list)
    missing_attachments: list[str] = Field(
        default_factory=list, description="SHA-256 des pièces jointes que le serveur attend encore"
    )
    code: str | None = Field(default=None, description="Pour une fiche refusée : le code d'erreur stable")
    message: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class PushOut(BaseModel):
    batch_id: str | None
    replayed: bool = Field(
        description="Vrai quand ce lot avait déjà été reçu : la réponse d'alors est renvoyée"
    )
    results: list[RecordResult]
    counts: dict[str, int]


class ReviewOut(BaseModel):
    decision: Literal["reviewed", "approved", "rejected"]
    comment: str | None
    at: datetime | None


class RecordState(BaseModel):
    id: str
    spec: str
    version: int
    site: str
    revision: int
    status: Literal["accepted", "needs_review", "conflict"]
    problems: list[dict[str, Any]]
    review: ReviewOut | None
    missing_attachments: list[str]
    updated_at: datetime


class VersionState(BaseModel):
    version: int
    status: Literal["published", "closed"]
    content_hash: str
    published_at: datetime | None
    closed_at: datetime | None
    accepted_until: datetime | None = Field(description="Date limite d'envoi des fiches d'une version close")


class SpecState(BaseModel):
    name: str
    kind: str
    title: dict[str, Any]
    sites: list[str]
    versions: list[VersionState]


class SiteState(BaseModel):
    code: str
    name: str


class PullOut(BaseModel):
    cursor: str = Field(description="À renvoyer au prochain pull")
    more: bool = Field(description="Vrai : rappeler tout de suite avec ce curseur (page suivante)")
    reset: bool = Field(description="Vrai : le curseur envoyé était inconnu, ceci est un pull complet")
    server_time: datetime
    sites: list[SiteState]
    specs: list[SpecState]
    records: list[RecordState]


def openapi_components() -> dict[str, Any]:
    """RecordIn and what it refers to, for the OpenAPI components (PushIn.records points at it)."""
    schema = RecordIn.model_json_schema(ref_template="#/components/schemas/{model}")
    components: dict[str, Any] = dict(schema.pop("$defs", {}))
    components["RecordIn"] = schema
    return components
