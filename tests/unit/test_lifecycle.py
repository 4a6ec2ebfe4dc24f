"""The transition table (lifecycle.py): what Signicat reports about a signing's sessions, and where it goes.

docs/architecture.md writes the table down; these tests read it from there, so the page and the code agree,
and check every combination of what Signicat can report against every state that is not final (issue path 5).
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from signing_core import lifecycle, repository
from signing_core.repository import Session, Signing

ARCHITECTURE = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NOT_FINAL = (repository.AWAITING_SIGNATURE, repository.SIGNED)
# What a session can answer, as the table's examples spell it.
KINDS = (
    "BLOCKED",
    "READY",
    "SIGNED",
    "SIGNED+PAdES",
    "REJECTED",
    "ARCHIVED",  # a state this code does not know
    "READY past due",
    "404",
    "404 past due",
)
WAITS = {"waits for signers": lifecycle.FOR_SIGNERS, "waits for packaging": lifecycle.FOR_PACKAGING}


def signing_in(state: str, kinds: list[str]) -> tuple[Signing, dict]:
    """A signing in `state` with one session per kind, and Signicat's answers for them."""
    sessions, answers = [], {}
    for number, kind in enumerate(kinds):
        session_id = f"session-{number}"
        due = NOW - timedelta(days=1) if kind.endswith("past due") else NOW + timedelta(days=1)
        sessions.append(Session(session_id, f"https://sign.example/{number}", "READY", due.isoformat()))
        answers[session_id] = answer(session_id, kind.removesuffix(" past due"), due)
    signing = Signing("s-1", "Contract", "ref", "col-1", sessions, state=state, createdAt=NOW.isoformat())
    return signing, answers


def answer(session_id: str, kind: str, due: datetime) -> dict | None:
    if kind == "404":
        return lifecycle.GONE
    state, _, packaged = kind.partition("+")
    packages = (
        [{"packageType": "PADES_CONTAINER", "resultDocumentId": f"pades-{session_id}"}] if packaged else []
    )
    return {
        "id": session_id,
        "lifecycle": {"state": state},
        "dueDate": due.isoformat(),
        "output": {"signatures": [], "packages": packages},
    }


def table_rows() -> list[dict]:
    text = ARCHITECTURE.read_text()
    section = text[text.index("<!-- transition table") :].split("\n\n")[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) != 5 or not cells[0].isdigit():
            continue
        sessions, _, event = cells[2].partition(";")
        rows.append(
            {
                "row": int(cells[0]),
                "kinds": re.findall(r"`([^`]+)`", sessions),
                "failed_event": "package.failed" in event,
                repository.AWAITING_SIGNATURE: cells[3],
                repository.SIGNED: cells[4],
            }
        )
    return rows


def test_the_table_is_there_with_its_nine_rows():
    assert [row["row"] for row in table_rows()] == list(range(1, 10))


@pytest.mark.parametrize("row", table_rows(), ids=lambda row: f"row-{row['row']}")
@pytest.mark.parametrize("state", NOT_FINAL)
def test_the_code_does_what_the_table_in_the_docs_says(row, state):
    signing, answers = signing_in(state, row["kinds"])
    verdict = lifecycle.assess(signing, answers, NOW, packaging_failed=row["failed_event"])
    expected_state, *wait = (part.strip(" `") for part in row[state].split(","))
    assert verdict.state == expected_state
    assert verdict.waiting_for == (WAITS[wait[0]] if wait else None)


@pytest.mark.parametrize("state", NOT_FINAL)
@pytest.mark.parametrize("failed_event", [False, True], ids=["package.completed", "package.failed"])
@pytest.mark.parametrize(
    "kinds",
    [[kind] for kind in KINDS] + [list(pair) for pair in itertools.product(KINDS, repeat=2)],
    ids=lambda kinds: "+".join(kinds),
)
def test_everything_signicat_can_report_has_an_allowed_path_from_every_state_that_is_not_final(
    state, failed_event, kinds
):
    signing, answers = signing_in(state, kinds)
    verdict = lifecycle.assess(signing, answers, NOW, packaging_failed=failed_event)

    assert verdict.state == state or verdict.state in repository.TRANSITIONS[state]
    assert [s.sessionId for s in verdict.sessions] == [s.sessionId for s in signing.sessions]
    if verdict.waiting_for:
        assert verdict.state in NOT_FINAL and verdict.package is None
        # Every wait ends: once the due date passes, Signicat answers 404 and the signing is EXPIRED.
        gone = {session_id: lifecycle.GONE for session_id in answers}
        ended = lifecycle.assess(signing, gone, NOW + timedelta(days=2))
        assert ended.state == repository.EXPIRED
    elif verdict.package:
        assert verdict.state == repository.COMPLETED
        assert all(answers[s.sessionId]["lifecycle"]["state"] == "SIGNED" for s in signing.sessions)
    else:
        assert verdict.state in repository.FINAL_STATES - {repository.COMPLETED}
        assert verdict.failure and verdict.failure["code"]


def test_every_session_shows_what_signicat_reports_or_the_end_it_met():
    signing, answers = signing_in(repository.SIGNED, ["SIGNED", "404", "READY"])
    verdict = lifecycle.assess(signing, answers, NOW)
    assert [s.state for s in verdict.sessions] == ["SIGNED", "CANCELLED", "READY"]


def test_a_gone_session_without_a_recorded_due_date_is_past_due_thirty_days_after_the_signing_began():
    signing, _ = signing_in(repository.AWAITING_SIGNATURE, ["READY"])
    signing.sessions[0].dueDate = None
    gone = {"session-0": lifecycle.GONE}
    assert lifecycle.assess(signing, gone, NOW + timedelta(days=29)).state == repository.CANCELLED
    assert lifecycle.assess(signing, gone, NOW + timedelta(days=30)).state == repository.EXPIRED


def test_the_pades_of_the_events_session_is_preferred():
    signing, answers = signing_in(repository.AWAITING_SIGNATURE, ["SIGNED+PAdES", "SIGNED+PAdES"])
    verdict = lifecycle.assess(signing, answers, NOW, prefer_session="session-1")
    assert verdict.package == ("session-1", "pades-session-1")
