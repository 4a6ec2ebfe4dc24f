"""The transition table (lifecycle.py): what Signicat reports about a signing's sessions, and where it goes.

docs/architecture.md writes the table down; these tests read it from there, so the page and the code agree,
and check every combination of what Signicat can report against every state that is not final (issue path 5).
The collection is what `observe` reads once every session is signed: not packaged, packaged, or 404.
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
    "REJECTED",
    "ARCHIVED",  # a state this code does not know
    "READY past due",
    "404",
    "404 past due",
)
# What the collection can answer once every session is signed.
COLLECTIONS = ("not packaged", "packaged", "404")
WAITS = {"waits for signers": lifecycle.FOR_SIGNERS, "waits for packaging": lifecycle.FOR_PACKAGING}
PADES = [{"packageId": "p-1", "packageType": "PADES_CONTAINER", "resultDocumentId": "pades-col-1"}]


def signing_in(
    state: str, kinds: list[str], collection: str = "not packaged"
) -> tuple[Signing, lifecycle.Observation]:
    """A signing in `state` with one session per kind, and what `observe` would see of it at Signicat."""
    sessions, answers = [], {}
    for number, kind in enumerate(kinds):
        session_id = f"session-{number}"
        due = NOW - timedelta(days=1) if kind.endswith("past due") else NOW + timedelta(days=1)
        sessions.append(Session(session_id, f"https://sign.example/{number}", "READY", due.isoformat()))
        answers[session_id] = answer(session_id, kind.removesuffix(" past due"), due)
    signing = Signing("s-1", "Contract", "ref", "col-1", sessions, state=state, createdAt=NOW.isoformat())
    return signing, observed(answers, collection)


def answer(session_id: str, kind: str, due: datetime, packages: list | None = None) -> dict | None:
    if kind == "404":
        return lifecycle.GONE
    return {
        "id": session_id,
        "lifecycle": {"state": kind},
        "dueDate": due.isoformat(),
        "output": {"signatures": [], "packages": packages or []},
    }


def observed(answers: dict, collection: str) -> lifecycle.Observation:
    """As `observe` reads it: the collection only once every session answers SIGNED."""
    if not all(a is not lifecycle.GONE and a["lifecycle"]["state"] == "SIGNED" for a in answers.values()):
        return lifecycle.Observation(answers)
    if collection == "404":
        return lifecycle.Observation(answers, None, collection_gone=True)
    packages = PADES if collection == "packaged" else []
    return lifecycle.Observation(answers, {"id": "col-1", "output": {"packages": packages}})


def table_rows() -> list[dict]:
    text = ARCHITECTURE.read_text()
    section = text[text.index("<!-- transition table") :].split("\n\n")[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) != 5 or not cells[0].isdigit():
            continue
        sessions, _, event = cells[2].partition(";")
        collection = re.search(r"collection `([^`]+)`", event)
        rows.append(
            {
                "row": int(cells[0]),
                "kinds": re.findall(r"`([^`]+)`", sessions),
                "failed_event": "package.failed" in event,
                "collection": collection.group(1) if collection else "not packaged",
                repository.AWAITING_SIGNATURE: cells[3],
                repository.SIGNED: cells[4],
            }
        )
    return rows


def test_the_table_is_there_with_its_ten_rows():
    assert [row["row"] for row in table_rows()] == list(range(1, 11))


@pytest.mark.parametrize("row", table_rows(), ids=lambda row: f"row-{row['row']}")
@pytest.mark.parametrize("state", NOT_FINAL)
def test_the_code_does_what_the_table_in_the_docs_says(row, state):
    signing, seen = signing_in(state, row["kinds"], row["collection"])
    verdict = lifecycle.assess(signing, seen, NOW, packaging_failed=row["failed_event"])
    expected_state, *wait = (part.strip(" `") for part in row[state].split(","))
    assert verdict.state == expected_state
    assert verdict.waiting_for == (WAITS[wait[0]] if wait else None)


@pytest.mark.parametrize("state", NOT_FINAL)
@pytest.mark.parametrize("failed_event", [False, True], ids=["package.completed", "package.failed"])
@pytest.mark.parametrize("collection", COLLECTIONS)
@pytest.mark.parametrize(
    "kinds",
    [[kind] for kind in KINDS] + [list(pair) for pair in itertools.product(KINDS, repeat=2)],
    ids=lambda kinds: "+".join(kinds),
)
def test_everything_signicat_can_report_has_an_allowed_path_from_every_state_that_is_not_final(
    state, failed_event, collection, kinds
):
    signing, seen = signing_in(state, kinds, collection)
    verdict = lifecycle.assess(signing, seen, NOW, packaging_failed=failed_event)

    assert verdict.state == state or verdict.state in repository.TRANSITIONS[state]
    assert [s.sessionId for s in verdict.sessions] == [s.sessionId for s in signing.sessions]
    if verdict.waiting_for:
        assert verdict.state in NOT_FINAL and verdict.package is None
        # Every wait ends: once the due date passes, Signicat answers 404 and the signing is EXPIRED.
        gone = lifecycle.Observation({session_id: lifecycle.GONE for session_id in seen.sessions})
        ended = lifecycle.assess(signing, gone, NOW + timedelta(days=2))
        assert ended.state == repository.EXPIRED
    elif verdict.package:
        assert verdict.state == repository.COMPLETED
        assert verdict.package == "pades-col-1"
        assert all(seen.sessions[s.sessionId]["lifecycle"]["state"] == "SIGNED" for s in signing.sessions)
    else:
        assert verdict.state in repository.FINAL_STATES - {repository.COMPLETED}
        assert verdict.failure and verdict.failure["code"]
    # Only a rejection withdraws sessions, and only ones Signicat still has that nobody signed or rejected.
    for session_id in verdict.withdraw:
        assert verdict.state == repository.REJECTED
        assert seen.sessions[session_id]["lifecycle"]["state"] not in ("SIGNED", "REJECTED")


def test_every_session_shows_what_signicat_reports_or_the_end_it_met():
    signing, seen = signing_in(repository.SIGNED, ["SIGNED", "404", "READY"])
    verdict = lifecycle.assess(signing, seen, NOW)
    assert [s.state for s in verdict.sessions] == ["SIGNED", "CANCELLED", "READY"]


def test_a_gone_session_without_a_recorded_due_date_is_past_due_thirty_days_after_the_signing_began():
    signing, _ = signing_in(repository.AWAITING_SIGNATURE, ["READY"])
    signing.sessions[0].dueDate = None
    gone = lifecycle.Observation({"session-0": lifecycle.GONE})
    assert lifecycle.assess(signing, gone, NOW + timedelta(days=29)).state == repository.CANCELLED
    assert lifecycle.assess(signing, gone, NOW + timedelta(days=30)).state == repository.EXPIRED


def test_a_rejection_withdraws_the_sessions_still_open_and_keeps_the_signed_ones():
    signing, seen = signing_in(repository.SIGNED, ["SIGNED", "REJECTED", "BLOCKED", "READY", "404"])
    verdict = lifecycle.assess(signing, seen, NOW)
    assert verdict.state == repository.REJECTED
    assert verdict.withdraw == ("session-2", "session-3")
    assert [s.state for s in verdict.sessions] == ["SIGNED", "REJECTED", "CANCELLED", "CANCELLED", "READY"]
    assert "session-1" in verdict.failure["detail"]


def test_the_pades_is_the_collections_never_a_sessions_own_when_there_are_several():
    """Each session's own package holds that signer's signature only (Signicat packages a session's
    `packageTo` when it alone is signed): with two signers it is never the PAdES to store."""
    own = [{"packageType": "PADES_CONTAINER", "resultDocumentId": "own"}]
    answers = {f"session-{n}": answer(f"session-{n}", "SIGNED", NOW + timedelta(days=1), own) for n in (0, 1)}
    signing, _ = signing_in(repository.SIGNED, ["SIGNED", "SIGNED"])
    not_packaged = lifecycle.Observation(answers, {"id": "col-1", "output": {"packages": []}})
    packaged = lifecycle.Observation(answers, {"id": "col-1", "output": {"packages": PADES}})

    assert lifecycle.assess(signing, not_packaged, NOW).waiting_for == lifecycle.FOR_PACKAGING
    assert lifecycle.assess(signing, packaged, NOW).package == "pades-col-1"


def test_a_one_session_signing_started_with_the_sessions_own_package_completes_from_it():
    own = [{"packageType": "PADES_CONTAINER", "resultDocumentId": "own"}]
    signing, _ = signing_in(repository.AWAITING_SIGNATURE, ["SIGNED"])
    answers = {"session-0": answer("session-0", "SIGNED", NOW + timedelta(days=1), own)}
    seen = lifecycle.Observation(answers, {"id": "col-1", "output": {"packages": []}})
    assert lifecycle.assess(signing, seen, NOW).package == "own"


class Reader:
    """A Signicat that answers from a table, counting what it is asked."""

    def __init__(self, sessions: dict, collection: dict | None) -> None:
        self.sessions, self.collection, self.asked = sessions, collection, []

    def get_signing_session(self, session_id: str) -> dict:
        self.asked.append(session_id)
        return self._or_404(self.sessions[session_id])

    def get_document_collection(self, collection_id: str) -> dict:
        self.asked.append(collection_id)
        return self._or_404(self.collection)

    @staticmethod
    def _or_404(found: dict | None) -> dict:
        if found is None:
            from signing_core.signicat_errors import SignicatError

            raise SignicatError(404, code="not_found")
        return found


@pytest.mark.parametrize(
    ("kinds", "collection", "asked"),
    [
        (["SIGNED", "READY"], {"id": "col-1"}, ["session-0", "session-1"]),
        (["SIGNED", "SIGNED"], {"id": "col-1"}, ["session-0", "session-1", "col-1"]),
        (["SIGNED", "SIGNED"], None, ["session-0", "session-1", "col-1"]),
    ],
    ids=["not-all-signed", "all-signed", "collection-404"],
)
def test_observe_reads_every_session_then_the_collection_once_every_one_is_signed(kinds, collection, asked):
    signing, seen = signing_in(repository.SIGNED, kinds)
    reader = Reader(dict(seen.sessions), collection)

    observed_now = lifecycle.observe(reader, signing)

    assert reader.asked == asked
    assert observed_now.sessions == seen.sessions
    assert observed_now.collection == (collection if "col-1" in asked else None)
    assert observed_now.collection_gone is ("col-1" in asked and collection is None)
