"""The field's real forms behave as in ODK once imported: answers are filled in as an enumerator would, and
the server's validation (terrain.responses.validation, the same evaluator as the app) must show what ODK
shows: a skipped question, a constraint message, a computed value. Each scenario was written from reading
the form's rows (quoted in the docstrings); ramOP's is in test_real_corpus.py."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from terrain.responses.validation import computed_answers, validate_response

from .test_real_corpus import WORKBOOKS, imported

pytestmark = pytest.mark.skipif(not WORKBOOKS, reason="real XLSForm corpus not found")
TODAY = date(2026, 1, 15)


def spec(name: str) -> dict[str, Any]:
    result = imported(name)
    assert result.ok and result.compiled is not None
    return result.compiled


def problems(compiled: dict[str, Any], answers: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    return [(p.code, p.item, p.instance) for p in validate_response(compiled, answers, today=TODAY)]


# -- PHQ-A and GAD-7 (SurveyCTO template): answers typed as codes -----------------------------------------

PHQ = "PovertyAction__SurveyCTO-Templates__phq9___gad7.xlsx"
PHQ_ITEMS = [
    "feel_depressed",
    "feel_interested",
    "feel_insomnia",
    "feel_tired",
    "feel_poorapetite",
    "feel_bad",
    "feel_focus",
    "feel_move",
    "feel_tryhurt",
    "feel_anxious",
    "feel_worry",
    "feel_worryalot",
    "feel_hardtorelax",
    "feel_restless",
    "feel_irritable",
    "feel_fear",
]


def test_phq_accepts_the_codes_of_the_scale_and_refuses_others() -> None:
    """Rows 23-46: text questions, required, `.='0' or .='1' or .='2' or .='3' or .='-888' or .='SKIP'`."""
    compiled = spec(PHQ)
    answers: dict[str, Any] = dict.fromkeys(PHQ_ITEMS, "2")
    answers["feel_tryhurt"] = "-888"  # refused to answer
    answers["feel_fear"] = "SKIP"
    assert problems(compiled, answers) == []
    answers["feel_depressed"] = "4"  # not on the 0-3 scale
    answers["feel_worry"] = "skip"  # ODK compares strings exactly
    del answers["feel_bad"]
    assert sorted(problems(compiled, answers)) == [
        ("constraint", "feel_depressed", ""),
        ("constraint", "feel_worry", ""),
        ("required", "feel_bad", ""),
    ]


# -- Phone survey (SurveyCTO template): consent only after a reached call ---------------------------------

PHONE = "PovertyAction__SurveyCTO-Templates__Phone_Survey_Form.xlsx"


def test_phone_survey_asks_consent_only_when_the_respondent_was_reached() -> None:
    """Row 33: group consent_grp, relevance `${phone1_status} = 1 or ${phone2_status} = 1` (call_status
    1 = reached); row 38: appointment_grp, `${consent_yn} = 1`; row 42: pd_end =
    `if(${phone1_status} = 1 or ${phone2_status} = 1 or ${pl_num_calls} = 2, 1, 0)`."""
    compiled = spec(PHONE)
    # Not reached on phone 1: no consent question, so an answer to it is one that ODK would not have.
    unreached = {"phone1_status": "3", "phone2_status": "2", "consent_yn": "1"}
    assert ("not_relevant", "consent_yn", "") in problems(compiled, unreached)
    assert (
        computed_answers(compiled, {"phone1_status": "3", "phone2_status": "2"}, today=TODAY)["pd_end"] == 0
    )
    # Reached on phone 2: consent is asked (required), and the call is over. (call_phone1/2 are the
    # required "call this number" prompts; their web-form relevance on ${deviceid} is reported and dropped.)
    reached = {"call_phone1": "ok", "call_phone2": "ok", "phone1_status": "3", "phone2_status": "1"}
    assert ("required", "consent_yn", "") in problems(compiled, reached)
    assert computed_answers(compiled, reached, today=TODAY)["pd_end"] == 1
    assert problems(compiled, {**reached, "consent_yn": "1"}) == []
    # Third call of a case (pulled as "2" calls already): the case ends even if unreached.
    assert computed_answers(compiled, {**unreached, "consent_yn": None, "pl_num_calls": "2"})["pd_end"] == 1


# -- Sofala S3M (Mozambique): the child's age from the known or recalled birth date ------------------------

SOFALA = "katilingban__mozambique-s3m-forms__sofala_s3m.xlsx"


def test_sofala_computes_each_child_age_from_the_date_asked() -> None:
    """Rows 58-63, in repeat child_repeat: child_dob_known (yes_no_list 1/2); child_dob_exact relevant
    `selected(${child_dob_known}, '1')`, child_dob_recall `selected(${child_dob_known}, '2')`;
    child_dob = `if(${child_dob_known} = '1', ${child_dob_exact}, ${child_dob_recall})`;
    child_age = `int((today() - ${child_dob}) div 365.25)`."""
    compiled = spec(SOFALA)
    children = [
        {"child_dob_known": "1", "child_dob_exact": "2021-03-02", "child_sex": "1"},
        {"child_dob_known": "2", "child_dob_recall": "2024-11-30", "child_sex": "2"},
    ]
    out = computed_answers(compiled, {"mother_random_child_size": 2, "child_repeat": children}, today=TODAY)
    blocks = out["child_repeat"]
    assert [b["child_dob"] for b in blocks] == ["2021-03-02", "2024-11-30"]
    assert [b["child_age"] for b in blocks] == [4, 1]
    # A recalled date given while the exact one is known is a skipped question in ODK.
    wrong = [{**children[0], "child_dob_recall": "2020-01-01"}]
    found = problems(compiled, {"mother_random_child_size": 1, "child_repeat": wrong})
    assert ("not_relevant", "child_dob_recall", "child_repeat.1") in found


# -- CHT pregnancy home visit: new risk factors -----------------------------------------------------------

PREGNANCY = "medic__cht-core__pregnancy_home_visit.xlsx"


def test_pregnancy_visit_refuses_none_with_a_risk_and_flags_each_risk() -> None:
    """new_risks (select_multiple risk_conditions): constraint `not(selected(.,'none')) or
    count-selected(.) < 2` with the message 'If "None of the above" selected, cannot select any other
    option.'; row 277: __heart_condition = `if(selected(${new_risks}, 'heart_condition'),'yes',
    if(${new_risks} = '', '','no'))`. The risks are asked in the group anc_visits_hf, relevant when a
    facility visit applies (`selected(../pregnancy_summary/visit_option,'yes') and ../lmp_date_8601 != ''`):
    every answer set below is such a visit."""
    compiled = spec(PREGNANCY)
    visit = {"visit_option": "yes", "g_age_correct": "no", "lmp_date_8601_new": 20362}
    found = [
        p
        for p in validate_response(compiled, {**visit, "new_risks": ["none", "asthma"]}, today=TODAY)
        if p.item == "new_risks"
    ]
    assert [p.code for p in found] == ["constraint"]
    assert 'If "None of the above" selected, cannot select any other option.' in found[0].en
    assert not [
        p for p in validate_response(compiled, {**visit, "new_risks": ["asthma"]}) if p.item == "new_risks"
    ]
    flags = computed_answers(compiled, {**visit, "new_risks": ["heart_condition", "diabetes"]}, today=TODAY)
    assert (flags["__heart_condition"], flags["__diabetes"], flags["__asthma"]) == ("yes", "yes", "no")
    assert flags["__has_risk_factors_not_previously_reported"] == "yes"
    none = computed_answers(compiled, {**visit, "new_risks": ["none"]}, today=TODAY)
    assert (none["__heart_condition"], none["__has_risk_factors_not_previously_reported"]) == ("no", "no")
    # Not answered: the flags stay empty (computed_answers leaves empty calculations out).
    assert "__heart_condition" not in computed_answers(compiled, {}, today=TODAY)


# -- CHT COVID-19 rapid test capture: the patient's age and the test summary -------------------------------

COVID = "medic__cht-core__covid19_rdt_capture.xlsx"


def test_covid_capture_describes_the_age_and_reads_the_result() -> None:
    """Row 35: patient_age_in_days =
    `floor(decimal-date-time(today()) - decimal-date-time(${date_of_birth}))`;
    row 36: age = `if(${patient_age_in_days} < 31, concat(..., ' days old'), if(${patient_age_in_months} <
    12, ..., concat(${patient_age_in_years}, ' years old')))`; group summary relevant
    `${rdt_session_state} != ''`; results_expired compares the read time with the expiry time; result
    = Positive / Negative / 'Invalid result' from sars_cov2."""
    compiled = spec(COVID)
    baby = computed_answers(compiled, {"date_of_birth": "2025-12-25"}, today=TODAY)
    assert (baby["patient_age_in_days"], baby["age"]) == (21, "21 days old")
    child = {"date_of_birth": "2023-06-01", "patient_age_in_months": 31, "patient_age_in_years": 2}
    assert computed_answers(compiled, child, today=TODAY)["age"] == "2 years old"
    session = {
        "rdt_session_state": "COMPLETED",
        "rdt_session_time_expired": "1700000900",
        "rdt_session_result_time_read": "1700001000",
        "sars_cov2": "sars_cov2_neg",
    }
    summary = computed_answers(compiled, session, today=TODAY)
    assert (summary["results_expired"], summary["result"]) == ("TRUE", "Negative")
    on_time = computed_answers(compiled, {**session, "rdt_session_result_time_read": "1700000000"})
    assert on_time["results_expired"] == "FALSE"
    # No session: the summary is skipped, so its calculations stay empty.
    assert "result" not in computed_answers(compiled, {"sars_cov2": "sars_cov2_pos"}, today=TODAY)
