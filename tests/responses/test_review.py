"""The coordinator's review, as service calls on both databases: who sees which record, filters and
pages, the labelled detail (fr/en, groups, repeats, choices, interviews), decisions and the resolution of
conflicts (choose or merge), with the change feed and the audit log."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from conftest import World
from terrain.attachments.models import Attachment, AttachmentStatus
from terrain.audit.models import AuditLog
from terrain.auth.service import principal_for
from terrain.db import utcnow
from terrain.errors import TerrainError
from terrain.principals import SYSTEM, Principal
from terrain.responses import review
from terrain.responses import service as responses
from terrain.responses.models import Response, ResponseRevision, ResponseValue
from terrain.responses.validation import check_response
from terrain.responses.values import flatten_answers
from terrain.sites.models import Site
from terrain.specs import service as specs
from terrain.specs.models import Spec, SpecVersion
from terrain.sync import service as sync
from terrain.users.models import User

SPEC_MENAGES = """\
spec: 1
kind: questionnaire
name: menages
title: {fr: "Ménages", en: "Households"}
languages: [fr, en]
choice_lists:
  satisfaction:
    - {value: 1, label: {fr: "Pas du tout", en: "Not at all"}}
    - {value: 2, label: {fr: "Un peu", en: "A little"}}
    - {value: 3, label: {fr: "Beaucoup", en: "A lot"}}
  besoins:
    - {value: logement, label: {fr: "Logement", en: "Housing"}}
    - {value: sante, label: {fr: "Santé", en: "Health"}}
    - {value: ecole, label: {fr: "École", en: "School"}}
items:
  - {name: intro, type: note, label: "Bienvenue"}
  - name: menage
    type: group
    label: {fr: "Le ménage", en: "The household"}
    items:
      - {name: nb_personnes, type: integer, label: {fr: "Nombre de personnes", en: "Number of people"},
         required: true}
      - name: habitat
        type: single_choice
        label: {fr: "Habitat", en: "Dwelling"}
        choices:
          - {value: caravane, label: {fr: "Caravane", en: "Caravan"}}
          - {value: maison, label: {fr: "Maison", en: "House"}}
      - {name: double, type: calculate, calculation: "${nb_personnes} * 2"}
  - name: membres
    type: repeat
    label: {fr: "Membres", en: "Members"}
    items:
      - {name: prenom, type: text, label: {fr: "Prénom", en: "First name"}, sensitive: true}
      - {name: scolarise, type: yes_no, label: {fr: "Scolarisé ?", en: "In school?"}}
  - {name: besoins, type: multiple_choice, label: {fr: "Besoins", en: "Needs"}, choice_list: besoins,
     other: true}
  - {name: satisfaction, type: likert, label: {fr: "Satisfaction", en: "Satisfaction"},
     choice_list: satisfaction}
  - name: equipements
    type: matrix
    label: {fr: "Équipements", en: "Equipment"}
    choice_list: satisfaction
    rows:
      - {name: eau, label: {fr: "Eau", en: "Water"}}
      - {name: electricite, label: {fr: "Électricité", en: "Electricity"}}
  - {name: photo, type: photo, label: {fr: "Photo", en: "Photo"}}
"""

GUIDE = """\
spec: 1
kind: interview_guide
name: guide_test
title: {fr: "Guide", en: "Guide"}
languages: [fr, en]
audiences:
  - {name: gestionnaires, label: {fr: "Gestionnaires", en: "Managers"}}
  - {name: usagers, label: {fr: "Usagers", en: "Users"}}
consent:
  mode: notes_only
  text: {fr: "Accord ?", en: "Agree?"}
themes:
  - name: accueil
    title: {fr: "Accueil des publics", en: "Welcoming the public"}
    question: {fr: "Comment accueillez-vous ?", en: "How do you welcome?"}
  - name: budget
    title: {fr: "Budget", en: "Budget"}
    question: {fr: "Quel budget ?", en: "What budget?"}
    audiences: [gestionnaires]
  - name: usages
    title: {fr: "Usages", en: "Uses"}
    question: {fr: "Quels usages ?", en: "What uses?"}
    audiences: [usagers]
"""

PHOTO = "a" * 64
PHOTO_2 = "b" * 64
# A name only a record's answers hold: it must never reach the audit log.
SECRET_NAME = "Léocadie-Zéphyrine"

FULL_ANSWERS: dict[str, Any] = {
    "nb_personnes": 3,
    "habitat": "caravane",
    "membres": [{"prenom": SECRET_NAME, "scolarise": "yes"}, {"prenom": "Tom", "scolarise": "no"}],
    "besoins": ["sante", "other"],
    "besoins_other": "Transport",
    "satisfaction": 2,
    "eau": "3",
    "electricite": "1",
    "photo": PHOTO,
}


@dataclasses.dataclass
class Field:
    """Sites ``nord`` (the coordinator's) and ``sud``; spec ``menages`` on both, guide on ``nord``."""

    world: World
    session: Session
    nord: Site
    sud: Site
    admin: User
    coordinator: User
    coordinator_sud: User
    worker: User
    worker_sud: User
    viewer: User

    def actor(self, user: User) -> Principal:
        return principal_for(user, session=self.session)

    def store(
        self,
        author: User,
        site: Site,
        answers: dict[str, Any] | None = None,
        *,
        spec: str = "menages",
        interview: dict[str, Any] | None = None,
        attachments: list[dict[str, Any]] | None = None,
        record_id: str | None = None,
    ) -> Response:
        """A record as a push stores it: validated, values flattened, numbered in the change feed."""
        answers = dict(FULL_ANSWERS) if answers is None else answers
        if attachments is None:
            attachments = [{"sha256": PHOTO, "media_type": "image/jpeg", "size": 10, "item": "photo"}]
            if "photo" not in answers:
                attachments = []
        content = content_for(self.session, spec, site, answers, interview=interview, attachments=attachments)
        version = self.session.get(SpecVersion, content.spec_version_id)
        assert version is not None
        checked = check_response(
            version.compiled, answers, attachments=attachments, metadata={}, interview=interview
        )
        row = responses.create(
            record_id or str(uuid.uuid4()),
            content,
            session=self.session,
            revision=1,
            base_revision=None,
            problems=[problem.as_dict() for problem in checked.problems],
            values=flatten_answers(version.compiled, checked.answers),
            author_id=author.id,
            device_token_id=None,
        )
        row.change_seq = sync.next_change_seq(session=self.session)
        self.session.commit()
        return row

    def conflict(self, row: Response, author: User, answers: dict[str, Any], *, revision: int = 2) -> None:
        """Another content for ``row`` that does not follow from its current revision."""
        site = self.session.get(Site, row.site_id)
        assert site is not None
        content = content_for(self.session, "menages", site, answers, attachments=[])
        responses.add_conflict(
            row,
            content,
            session=self.session,
            revision=revision,
            base_revision=None,
            problems=[],
            author_id=author.id,
            device_token_id=None,
        )
        row.change_seq = sync.next_change_seq(session=self.session)
        self.session.commit()


def content_for(
    session: Session,
    spec_name: str,
    site: Site,
    answers: dict[str, Any],
    *,
    interview: dict[str, Any] | None = None,
    attachments: list[dict[str, Any]] | None = None,
) -> responses.Content:
    spec = session.exec(select(Spec).where(Spec.name == spec_name)).one()
    version = session.exec(
        select(SpecVersion).where(SpecVersion.spec_id == spec.id, SpecVersion.version == 1)
    ).one()
    assert spec.id is not None and version.id is not None and site.id is not None
    return responses.Content(
        spec_id=spec.id,
        spec_version_id=version.id,
        version=1,
        kind=spec.kind,
        site_id=site.id,
        answers=answers,
        interview=interview,
        attachments=attachments or [],
        started_at=datetime.fromisoformat("2026-11-20T09:00:00+01:00"),
        finished_at=datetime.fromisoformat("2026-11-20T09:12:00+01:00"),
    )


def publish(session: Session, source: str, *sites: Site) -> None:
    compiled = specs.compile_source(source)
    specs.publish(compiled.name, session=session, actor=SYSTEM, source=source)
    specs.assign_sites(compiled.name, [site.code for site in sites], session=session, actor=SYSTEM)
    session.commit()


def make_field(world: World) -> Field:
    nord, sud = world.site("nord"), world.site("sud")
    publish(world.session, SPEC_MENAGES, nord, sud)
    publish(world.session, GUIDE, nord)
    return Field(
        world=world,
        session=world.session,
        nord=nord,
        sud=sud,
        admin=world.user("admin"),
        coordinator=world.user("coordinator", sites=(nord,)),
        coordinator_sud=world.user("coordinator", sites=(sud,)),
        worker=world.user("fieldworker", sites=(nord,)),
        worker_sud=world.user("fieldworker", sites=(sud,)),
        viewer=world.user("viewer", sites=(nord,)),
    )


@pytest.fixture
def field(world: World) -> Field:
    return make_field(world)


def _uuids(page: review.ResponsePage) -> list[str]:
    return [item.uuid for item in page.items]


def _code(exc: pytest.ExceptionInfo[TerrainError]) -> str:
    return exc.value.code


# --- visibility -----------------------------------------------------------------------------------


def test_who_sees_which_record(field: Field) -> None:
    mine = field.store(field.worker, field.nord)
    colleague = field.store(field.worker_sud, field.nord)  # a sud account collecting on nord
    south = field.store(field.worker_sud, field.sud)
    # The nord worker collected once on sud too (since moved): still theirs to see.
    moved = field.store(field.worker, field.sud)
    everything = {mine.uuid, colleague.uuid, south.uuid, moved.uuid}

    def seen(user: User) -> set[str]:
        return set(
            _uuids(review.list_responses(review.ListFilter(), session=field.session, actor=field.actor(user)))
        )

    assert seen(field.admin) == everything
    assert seen(field.coordinator) == {mine.uuid, colleague.uuid}
    assert seen(field.coordinator_sud) == {south.uuid, moved.uuid}
    assert seen(field.worker) == {mine.uuid, moved.uuid}
    assert seen(field.worker_sud) == {colleague.uuid, south.uuid}
    with pytest.raises(TerrainError) as refused:
        seen(field.viewer)
    assert _code(refused) == "auth.forbidden"

    # The detail follows the same rule, and hides what it refuses.
    for user, row in ((field.coordinator, south), (field.worker, colleague), (field.coordinator_sud, mine)):
        with pytest.raises(TerrainError) as hidden:
            review.response_detail(row.uuid, session=field.session, actor=field.actor(user), lang="fr")
        assert _code(hidden) == "response.not_found"
    with pytest.raises(TerrainError) as unknown:
        review.response_detail(
            str(uuid.uuid4()), session=field.session, actor=field.actor(field.admin), lang="fr"
        )
    assert _code(unknown) == "response.not_found"
    with pytest.raises(TerrainError) as viewer:
        review.response_detail(mine.uuid, session=field.session, actor=field.actor(field.viewer), lang="fr")
    assert _code(viewer) == "auth.forbidden"
    assert review.response_detail(
        moved.uuid, session=field.session, actor=field.actor(field.worker), lang="fr"
    )


# --- filters and pages ----------------------------------------------------------------------------


def test_filters(field: Field) -> None:
    accepted = field.store(field.worker, field.nord)
    invalid = field.store(field.worker, field.nord, {"nb_personnes": -1, "habitat": "yourte"})
    south = field.store(field.worker_sud, field.sud)
    guide = field.store(
        field.worker,
        field.nord,
        {"accueil__notes": "Bien"},
        spec="guide_test",
        interview={"audience": "usagers"},
    )
    assert invalid.status == "needs_review" and accepted.status == "accepted"
    admin = field.actor(field.admin)

    def only(**filters: Any) -> set[str]:
        page = review.list_responses(review.ListFilter(**filters), session=field.session, actor=admin)
        return set(_uuids(page))

    assert only() == {accepted.uuid, invalid.uuid, south.uuid, guide.uuid}
    assert only(spec="menages") == {accepted.uuid, invalid.uuid, south.uuid}
    assert only(spec="guide_test") == {guide.uuid}
    assert only(spec="inconnue") == set()
    assert only(spec="menages", version=1) == {accepted.uuid, invalid.uuid, south.uuid}
    assert only(version=2) == set()
    assert only(site="sud") == {south.uuid}
    assert only(site="absent") == set()
    assert only(author=field.worker_sud.id) == {south.uuid}
    assert only(status="needs_review") == {invalid.uuid, guide.uuid}  # the guide lacks its consent
    assert only(status="conflict") == set()

    review.review(accepted.uuid, "approved", None, session=field.session, actor=admin)
    assert only(review="approved") == {accepted.uuid}
    assert only(review="rejected") == set()
    assert only(review=review.NOT_REVIEWED) == {invalid.uuid, south.uuid, guide.uuid}

    # Received times: since included, until excluded; naive datetimes are UTC.
    base = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    for offset, row in enumerate((accepted, invalid, south, guide)):
        row.received_at = base + timedelta(hours=offset)
        field.session.add(row)
    field.session.commit()
    assert only(since=base + timedelta(hours=1)) == {invalid.uuid, south.uuid, guide.uuid}
    assert only(until=base + timedelta(hours=1)) == {accepted.uuid}
    assert only(since=base + timedelta(hours=1), until=base + timedelta(hours=3)) == {
        invalid.uuid,
        south.uuid,
    }
    assert only(since=datetime(2026, 11, 20, 14, 0)) == {south.uuid, guide.uuid}
    # The same instant with an offset.
    assert only(since=datetime.fromisoformat("2026-11-20T15:00:00+01:00")) == {south.uuid, guide.uuid}
    # Instants past year 9999 in UTC are clamped, not an error.
    assert only(since=datetime.fromisoformat("0001-01-01T00:00:00+05:00")) == {
        accepted.uuid,
        invalid.uuid,
        south.uuid,
        guide.uuid,
    }
    assert only(until=datetime.fromisoformat("9999-12-31T23:00:00-05:00")) == {
        accepted.uuid,
        invalid.uuid,
        south.uuid,
        guide.uuid,
    }
    # Filters combine with visibility: a coordinator filtering on another site gets nothing.
    page = review.list_responses(
        review.ListFilter(site="sud"), session=field.session, actor=field.actor(field.coordinator)
    )
    assert page.items == []


def test_summary_fields(field: Field) -> None:
    row = field.store(field.worker, field.nord)
    page = review.list_responses(
        review.ListFilter(), session=field.session, actor=field.actor(field.coordinator)
    )
    (item,) = page.items
    assert item.uuid == row.uuid
    assert (item.spec, item.kind, item.version, item.site) == ("menages", "questionnaire", 1, "nord")
    assert item.author is not None and item.author.id == field.worker.id
    assert item.author.name == field.worker.display_name
    assert item.revision == 1 and item.status == "accepted" and item.review is None
    assert item.problem_count == 0
    assert item.missing_attachment_count == 1  # the photo was declared, never sent
    assert item.started_at == datetime.fromisoformat("2026-11-20T08:00:00+00:00")
    dumped = item.model_dump()
    assert "answers" not in dumped and "items" not in dumped
    assert SECRET_NAME not in json.dumps(dumped, default=str)
    field.session.add(
        Attachment(
            sha256=PHOTO,
            media_type="image/jpeg",
            size=10,
            received=10,
            status=AttachmentStatus.complete.value,
        )
    )
    field.session.commit()
    page = review.list_responses(
        review.ListFilter(), session=field.session, actor=field.actor(field.coordinator)
    )
    assert page.items[0].missing_attachment_count == 0


@pytest.mark.parametrize("size", [1, 3, 200])
def test_pages_have_no_duplicates_and_no_gaps(field: Field, size: int) -> None:
    stored = [
        field.store(field.worker, field.nord if i % 3 else field.sud, {"nb_personnes": i + 1})
        for i in range(8)
    ]
    admin = field.actor(field.admin)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = review.list_responses(
            review.ListFilter(), session=field.session, actor=admin, cursor=cursor, limit=size
        )
        assert len(page.items) <= size
        seen.extend(_uuids(page))
        pages += 1
        if pages == 1:
            # A record arriving while the coordinator pages: it shows on a first page, never in between.
            late = field.store(field.worker, field.nord)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
        assert pages < 20
    assert len(seen) == len(set(seen)) == len(stored)
    assert set(seen) == {row.uuid for row in stored}
    # Newest first.
    ids = {row.uuid: row.id for row in stored}
    assert [ids[u] for u in seen] == sorted(ids.values(), reverse=True)
    first = review.list_responses(review.ListFilter(), session=field.session, actor=admin, limit=size)
    assert first.items[0].uuid == late.uuid


def test_page_size_is_bounded(field: Field) -> None:
    for _ in range(3):
        field.store(field.worker, field.nord)
    page = review.list_responses(
        review.ListFilter(), session=field.session, actor=field.actor(field.admin), limit=10_000
    )
    assert len(page.items) == 3 and page.next_cursor is None
    assert review.MAX_PAGE == 200
    with pytest.raises(TerrainError):
        review.list_responses(
            review.ListFilter(), session=field.session, actor=field.actor(field.admin), cursor="x"
        )


# --- detail ---------------------------------------------------------------------------------------


def _by_name(items: list[review.ItemOut]) -> dict[str, review.ItemOut]:
    return {item.name: item for item in items}


def test_detail_in_french_and_english(field: Field) -> None:
    row = field.store(field.worker, field.nord)
    actor = field.actor(field.coordinator)
    fr = review.response_detail(row.uuid, session=field.session, actor=actor, lang="fr")
    en = review.response_detail(row.uuid, session=field.session, actor=actor, lang="en")
    assert (fr.lang, fr.title, en.lang, en.title) == ("fr", "Ménages", "en", "Households")

    # Spec order, notes left out, groups as sections, the calculation computed by the server.
    assert [item.name for item in fr.items] == [
        "menage",
        "membres",
        "besoins",
        "besoins_other",
        "satisfaction",
        "equipements",
        "photo",
    ]
    menage = _by_name(fr.items)["menage"]
    assert (menage.type, menage.label) == ("group", "Le ménage")
    assert menage.items is not None
    group = _by_name(menage.items)
    assert (group["nb_personnes"].label, group["nb_personnes"].answer) == ("Nombre de personnes", 3)
    assert group["habitat"].choices == [review.ChoiceOut(value="caravane", label="Caravane")]
    assert group["double"].answer == 6
    en_group = _by_name(_by_name(en.items)["menage"].items or [])
    assert en_group["habitat"].label == "Dwelling"
    assert en_group["habitat"].choices == [review.ChoiceOut(value="caravane", label="Caravan")]

    # Repeats: one list of items per block, in order.
    membres = _by_name(fr.items)["membres"]
    assert membres.type == "repeat" and membres.instances is not None and len(membres.instances) == 2
    first, second = (_by_name(block) for block in membres.instances)
    assert first["prenom"].answer == SECRET_NAME and first["prenom"].sensitive
    assert first["scolarise"].choices == [review.ChoiceOut(value="yes", label="Oui")]
    assert second["scolarise"].choices == [review.ChoiceOut(value="no", label="Non")]
    en_blocks = _by_name(en.items)["membres"].instances or []
    assert _by_name(en_blocks[1])["scolarise"].choices == [review.ChoiceOut(value="no", label="No")]

    # Several choices, the "other" choice, a likert scale, matrix rows.
    top = _by_name(fr.items)
    assert top["besoins"].choices == [
        review.ChoiceOut(value="sante", label="Santé"),
        review.ChoiceOut(value="other", label="Autre"),
    ]
    assert top["besoins_other"].answer == "Transport"
    assert top["satisfaction"].choices == [review.ChoiceOut(value=2, label="Un peu")]
    assert _by_name(en.items)["satisfaction"].choices == [review.ChoiceOut(value=2, label="A little")]
    matrix = top["equipements"]
    assert matrix.type == "matrix" and matrix.items is not None
    assert [(i.name, i.label, i.choices) for i in matrix.items] == [
        ("eau", "Eau", [review.ChoiceOut(value="3", label="Beaucoup")]),
        ("electricite", "Électricité", [review.ChoiceOut(value="1", label="Pas du tout")]),
    ]

    # Attachments with their state and where to fetch them.
    assert [(a.sha256, a.item, a.status, a.url) for a in fr.attachments] == [
        (PHOTO, "photo", "missing", f"/api/v1/attachments/{PHOTO}")
    ]
    assert fr.missing_attachment_count == 1
    assert fr.interview is None
    assert [(r.revision, r.origin, r.conflict, r.current, r.answers) for r in fr.revisions] == [
        (1, "pushed", False, True, None)
    ]


def test_problems_in_the_chosen_language(field: Field) -> None:
    row = field.store(field.worker, field.nord, {"habitat": "caravane"})  # nb_personnes is required
    assert row.status == "needs_review"
    actor = field.actor(field.admin)
    fr = review.response_detail(row.uuid, session=field.session, actor=actor, lang="fr")
    en = review.response_detail(row.uuid, session=field.session, actor=actor, lang="en")
    assert [p.code for p in fr.problems] == [p.code for p in en.problems]
    required = next(p for p in fr.problems if p.item == "nb_personnes")
    required_en = next(p for p in en.problems if p.item == "nb_personnes")
    assert "obligatoire" in required.message
    assert "required" in required_en.message
    assert fr.problem_count == len(fr.problems) >= 1


def test_interview_detail(field: Field) -> None:
    interview = {
        "audience": "gestionnaires",
        "consent": {"mode": "notes_only", "given_at": "2026-11-20T09:00:00+01:00", "collected_by": "Anne"},
        "recording": None,
        "timeline": [
            {"theme": "accueil", "start": 0, "end": 300},
            {"theme": "budget", "start": 300, "end": 620.5},
        ],
    }
    row = field.store(
        field.worker,
        field.nord,
        {"accueil__notes": "Accueil chaleureux", "accueil__covered": "yes", "budget__notes": "Serré"},
        spec="guide_test",
        interview=interview,
    )
    assert row.status == "accepted", row.problems
    actor = field.actor(field.coordinator)
    fr = review.response_detail(row.uuid, session=field.session, actor=actor, lang="fr")
    en = review.response_detail(row.uuid, session=field.session, actor=actor, lang="en")
    assert fr.interview is not None and en.interview is not None
    assert (fr.interview.audience, fr.interview.audience_label) == ("gestionnaires", "Gestionnaires")
    assert en.interview.audience_label == "Managers"
    assert fr.interview.consent == interview["consent"]
    assert [(t.theme, t.title, t.start, t.end) for t in fr.interview.timeline] == [
        ("accueil", "Accueil des publics", 0, 300),
        ("budget", "Budget", 300, 620.5),
    ]
    assert en.interview.timeline[0].title == "Welcoming the public"
    # Themes as sections; "usages" is for another audience and holds no answer.
    assert [(item.name, item.type, item.label) for item in fr.items] == [
        ("accueil", "theme", "Accueil des publics"),
        ("budget", "theme", "Budget"),
    ]
    accueil = _by_name(fr.items[0].items or [])
    assert accueil["accueil__notes"].answer == "Accueil chaleureux"
    assert accueil["accueil__covered"].choices == [review.ChoiceOut(value="yes", label="Oui")]
    assert _by_name(en.items[0].items or [])["accueil__covered"].label == "Theme covered"


def test_malformed_stored_content_still_shows(field: Field) -> None:
    """A record is stored even when validation fails: the detail shows whatever shape it has."""
    row = field.store(
        field.worker,
        field.nord,
        {
            "nb_personnes": "trois",
            "membres": [7, {"prenom": ["x"]}],
            "besoins": "sante",
            "satisfaction": True,
            "inconnu": 1,
        },
        attachments=[],
    )
    row.interview = {"timeline": "n'importe quoi"}
    field.session.add(row)
    field.session.commit()
    detail = review.response_detail(
        row.uuid, session=field.session, actor=field.actor(field.admin), lang="en"
    )
    top = _by_name(detail.items)
    assert top["membres"].instances is not None and len(top["membres"].instances) == 2
    assert top["besoins"].choices == [review.ChoiceOut(value="sante", label="Health")]
    assert top["satisfaction"].choices == []
    assert detail.interview is not None and detail.interview.timeline == []
    assert detail.problem_count > 0


def test_viewing_is_audited_without_answers(field: Field) -> None:
    row = field.store(field.worker, field.nord)
    review.response_detail(
        row.uuid, session=field.session, actor=field.actor(field.coordinator), lang="fr", ip="10.0.0.9"
    )
    field.session.commit()
    entry = field.session.exec(select(AuditLog).where(AuditLog.action == "response.viewed")).one()
    assert (entry.actor_user_id, entry.target_type, entry.target_id, entry.ip) == (
        field.coordinator.id,
        "response",
        row.uuid,
        "10.0.0.9",
    )
    assert SECRET_NAME not in json.dumps(entry.details) and "Transport" not in json.dumps(entry.details)


# --- review ---------------------------------------------------------------------------------------


def test_review_sets_the_decision_and_bumps_the_feed(field: Field) -> None:
    row = field.store(field.worker, field.nord)
    before = row.change_seq
    updated_at = row.updated_at
    done = review.review(
        row.uuid.upper(),
        "rejected",
        "Ménage compté deux fois",
        session=field.session,
        actor=field.actor(field.coordinator),
    )
    field.session.expire_all()
    stored = field.session.get(Response, row.id)
    assert stored is not None and done.id == row.id
    assert (stored.review, stored.review_comment, stored.reviewed_by) == (
        "rejected",
        "Ménage compté deux fois",
        field.coordinator.id,
    )
    assert stored.reviewed_at is not None and stored.reviewed_at > utcnow() - timedelta(minutes=1)
    assert stored.change_seq > before
    assert stored.change_seq == sync.current_change_seq(session=field.session)
    assert stored.updated_at == updated_at  # the content did not change
    entry = field.session.exec(select(AuditLog).where(AuditLog.action == "response.reviewed")).one()
    assert entry.target_id == row.uuid
    assert entry.details == {"decision": "rejected", "previous": None, "revision": 1, "has_comment": True}
    # Changed mind: a later decision replaces it (the comment too).
    review.review(row.uuid, "approved", None, session=field.session, actor=field.actor(field.admin))
    field.session.expire_all()
    again = field.session.get(Response, row.id)
    assert again is not None and (again.review, again.review_comment, again.reviewed_by) == (
        "approved",
        None,
        field.admin.id,
    )


def test_who_may_review(field: Field) -> None:
    mine = field.store(field.worker, field.nord)
    south = field.store(field.worker_sud, field.sud)
    cases = [
        (field.worker, mine, "auth.forbidden"),  # sees it (collected it) but reviews nothing
        (field.coordinator, south, "response.not_found"),
        (field.coordinator_sud, mine, "response.not_found"),
        (field.viewer, mine, "auth.forbidden"),
    ]
    for user, row, code in cases:
        with pytest.raises(TerrainError) as refused:
            review.review(row.uuid, "approved", None, session=field.session, actor=field.actor(user))
        assert _code(refused) == code
        field.session.rollback()
    field.session.expire_all()
    assert field.session.exec(select(Response).where(col(Response.review).is_not(None))).all() == []


def test_a_conflict_is_resolved_before_a_decision(field: Field) -> None:
    row = field.store(field.worker, field.nord)
    field.conflict(row, field.worker_sud, {"nb_personnes": 4})
    with pytest.raises(TerrainError) as refused:
        review.review(row.uuid, "approved", None, session=field.session, actor=field.actor(field.coordinator))
    assert _code(refused) == "response.conflict_unresolved"
    assert refused.value.status == 409


# --- resolve --------------------------------------------------------------------------------------


def _values(session: Session, row: Response) -> dict[tuple[str, str], Any]:
    session.expire_all()
    rows = session.exec(select(ResponseValue).where(ResponseValue.response_id == row.id)).all()
    return {(v.item, v.instance): v.value_num if v.value_num is not None else v.value_text for v in rows}


def test_resolve_by_choosing_a_received_revision(field: Field) -> None:
    row = field.store(field.worker, field.nord)
    field.conflict(row, field.worker_sud, {"nb_personnes": 5, "habitat": "maison"})
    field.conflict(row, field.worker_sud, {"nb_personnes": 6}, revision=3)
    coordinator = field.actor(field.coordinator)
    detail = review.response_detail(row.uuid, session=field.session, actor=coordinator, lang="fr")
    assert detail.status == "conflict"
    pending = [r for r in detail.revisions if r.conflict]
    assert [(r.revision, r.answers, r.differs) for r in pending] == [
        # every answer differs: changed, or absent from the conflicting content
        (2, {"nb_personnes": 5, "habitat": "maison"}, sorted(FULL_ANSWERS)),
        (3, {"nb_personnes": 6}, sorted(FULL_ANSWERS)),
    ]
    assert [r.current for r in detail.revisions] == [True, False, False]
    before = _values(field.session, row)
    assert before[("nb_personnes", "")] == 3
    seq = sync.current_change_seq(session=field.session)

    review.resolve(
        row.uuid,
        revision_id=pending[0].id,
        comment="La version de Marc est la bonne",
        session=field.session,
        actor=coordinator,
        ip="10.1.1.1",
    )
    field.session.expire_all()
    stored = field.session.get(Response, row.id)
    assert stored is not None
    assert stored.answers == {"nb_personnes": 5, "habitat": "maison"}
    assert (stored.revision, stored.base_revision, stored.status) == (4, 1, "accepted")
    assert (stored.review, stored.review_comment, stored.reviewed_by) == (
        "reviewed",
        "La version de Marc est la bonne",
        field.coordinator.id,
    )
    assert stored.author_id == field.worker.id  # still the collector's record (their pull sees it)
    assert stored.change_seq > seq
    history = field.session.exec(select(ResponseRevision).where(ResponseRevision.response_id == row.id)).all()
    assert not any(entry.conflict for entry in history)
    after = _values(field.session, row)
    assert after[("nb_personnes", "")] == 5 and after[("habitat", "")] == "maison"
    assert ("prenom", "membres.1") not in after
    entry = field.session.exec(select(AuditLog).where(AuditLog.action == "response.conflict_resolved")).one()
    assert entry.details["how"] == "chosen" and entry.details["chosen_revision"] == 2
    assert entry.details["revision"] == 4 and entry.details["conflicts_cleared"] == 2
    assert entry.ip == "10.1.1.1"
    assert "Marc" not in json.dumps(entry.details) and "maison" not in json.dumps(entry.details)
    # The chosen revision is now the current one; a decision is possible again.
    detail = review.response_detail(row.uuid, session=field.session, actor=coordinator, lang="fr")
    assert [(r.revision, r.current, r.conflict) for r in detail.revisions] == [
        (1, False, False),
        (2, True, False),
        (3, False, False),
    ]
    assert detail.revision == 4 and detail.base_revision == 1
    review.review(row.uuid, "approved", None, session=field.session, actor=coordinator)


def test_resolve_by_merging(field: Field) -> None:
    row = field.store(field.worker, field.nord)
    field.conflict(row, field.worker_sud, {"nb_personnes": 5, "photo": PHOTO_2})
    # The other revision declared its own photo: a merge keeping it keeps its attachment too.
    other = field.session.exec(
        select(ResponseRevision).where(ResponseRevision.response_id == row.id, ResponseRevision.revision == 2)
    ).one()
    other.payload = {
        **other.payload,
        "attachments": [{"sha256": PHOTO_2, "media_type": "image/png", "size": 5, "item": "photo"}],
    }
    field.session.add(other)
    field.session.commit()
    merged = {**FULL_ANSWERS, "nb_personnes": 5, "photo": PHOTO_2}
    review.resolve(row.uuid, answers=merged, session=field.session, actor=field.actor(field.admin))
    field.session.expire_all()
    stored = field.session.get(Response, row.id)
    assert stored is not None
    assert stored.answers == merged
    assert (stored.revision, stored.base_revision, stored.status) == (3, 1, "accepted")
    assert {ref["sha256"] for ref in stored.attachments} == {PHOTO, PHOTO_2}
    assert stored.started_at == datetime.fromisoformat("2026-11-20T09:00:00+01:00")  # kept from the current
    newest = field.session.exec(
        select(ResponseRevision).where(ResponseRevision.response_id == row.id, ResponseRevision.revision == 3)
    ).one()
    assert (newest.origin, newest.base_revision, newest.conflict, newest.author_id) == (
        "resolved",
        1,
        False,
        field.admin.id,
    )
    assert newest.content_hash == stored.content_hash
    values = _values(field.session, row)
    assert values[("nb_personnes", "")] == 5 and values[("double", "")] == 10
    assert values[("prenom", "membres.1")] == SECRET_NAME
    entry = field.session.exec(select(AuditLog).where(AuditLog.action == "response.conflict_resolved")).one()
    assert entry.details["how"] == "merged" and entry.details["has_comment"] is False
    assert SECRET_NAME not in json.dumps(entry.details)


def test_a_merge_is_validated_again(field: Field) -> None:
    row = field.store(field.worker, field.nord)
    field.conflict(row, field.worker_sud, {"nb_personnes": 5})
    review.resolve(
        row.uuid, answers={"habitat": "yourte"}, session=field.session, actor=field.actor(field.coordinator)
    )
    field.session.expire_all()
    stored = field.session.get(Response, row.id)
    assert stored is not None and stored.status == "needs_review"
    assert {p["item"] for p in stored.problems} >= {"nb_personnes", "habitat"}


def test_resolve_refusals(field: Field) -> None:
    row = field.store(field.worker, field.nord)
    coordinator = field.actor(field.coordinator)
    with pytest.raises(TerrainError) as calm:
        review.resolve(row.uuid, answers={}, session=field.session, actor=coordinator)
    assert _code(calm) == "response.not_in_conflict" and calm.value.status == 409
    field.session.rollback()
    field.conflict(row, field.worker_sud, {"nb_personnes": 4})
    elsewhere = field.store(field.worker, field.nord)
    field.conflict(elsewhere, field.worker_sud, {"nb_personnes": 7})
    foreign = field.session.exec(
        select(ResponseRevision).where(ResponseRevision.response_id == elsewhere.id)
    ).first()
    assert foreign is not None and foreign.id is not None
    for revision_id in (foreign.id, 2**31 - 1):
        with pytest.raises(TerrainError) as missing:
            review.resolve(row.uuid, revision_id=revision_id, session=field.session, actor=coordinator)
        assert _code(missing) == "response.revision_not_found"
        field.session.rollback()
    for user, code in (
        (field.worker, "auth.forbidden"),
        (field.coordinator_sud, "response.not_found"),
        (field.viewer, "auth.forbidden"),
    ):
        with pytest.raises(TerrainError) as refused:
            review.resolve(
                row.uuid, answers={"nb_personnes": 1}, session=field.session, actor=field.actor(user)
            )
        assert _code(refused) == code
        field.session.rollback()
    with pytest.raises(TerrainError):
        review.resolve(row.uuid, session=field.session, actor=coordinator)
    with pytest.raises(TerrainError):
        review.resolve(row.uuid, revision_id=1, answers={}, session=field.session, actor=coordinator)
    field.session.expire_all()
    stored = field.session.get(Response, row.id)
    assert stored is not None and stored.status == "conflict" and stored.revision == 1


def test_choosing_a_revision_from_another_site_needs_rights_there(field: Field) -> None:
    row = field.store(field.worker, field.nord)
    # A device sent the same record for sud.
    content = content_for(field.session, "menages", field.sud, {"nb_personnes": 2})
    responses.add_conflict(
        row,
        content,
        session=field.session,
        revision=2,
        base_revision=None,
        problems=[],
        author_id=field.worker_sud.id,
        device_token_id=None,
    )
    field.session.commit()
    moved = field.session.exec(
        select(ResponseRevision).where(ResponseRevision.response_id == row.id, ResponseRevision.revision == 2)
    ).one()
    with pytest.raises(TerrainError) as refused:
        review.resolve(
            row.uuid, revision_id=moved.id, session=field.session, actor=field.actor(field.coordinator)
        )
    assert _code(refused) == "auth.forbidden"
    field.session.rollback()
    review.resolve(row.uuid, revision_id=moved.id, session=field.session, actor=field.actor(field.admin))
    field.session.expire_all()
    stored = field.session.get(Response, row.id)
    assert stored is not None and stored.site_id == field.sud.id and stored.status == "accepted"
