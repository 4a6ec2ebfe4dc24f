"""GET /signings: recent signings, newest first, a page at a time, by a query per month on GSI byMonth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from signing_core import repository
from signing_core.repository import Session, Signing
from tests.functions import load_handler
from tests.integration.test_api_function import request


@pytest.fixture
def api(aws):
    return load_handler("api")


def stored(signing_id: str, created: datetime, state: str = repository.AWAITING_SIGNATURE) -> Signing:
    stamp = created.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    signing = repository.create(
        Signing(
            signingId=signing_id,
            title=f"Title {signing_id}",
            externalReference=f"ref-{signing_id}",
            documentCollectionId=f"col-{signing_id}",
            sessions=[Session(f"sess-{signing_id}", "https://sign.example/x")],
            createdAt=stamp,
            updatedAt=stamp,
        )
    )
    if state != signing.state:
        repository.transition(signing, state)
    return signing


def every_page(api, **query: str) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        status, page = request(
            api, "GET", "/signings", query={**query, **({"cursor": cursor} if cursor else {})}
        )
        assert status == 200, page
        pages.append([s["signingId"] for s in page["signings"]])
        cursor = page.get("nextCursor")
        if not cursor:
            return pages


def test_signings_come_newest_first_across_months_a_page_at_a_time(api):
    now = datetime.now(UTC)
    for index, days_ago in enumerate([0, 1, 2, 40, 41, 75]):
        stored(f"s{index}", now - timedelta(days=days_ago, minutes=index))

    pages = every_page(api, limit="2")

    assert [signing for page in pages for signing in page] == ["s0", "s1", "s2", "s3", "s4", "s5"]
    assert all(len(page) <= 2 for page in pages)
    status, first = request(api, "GET", "/signings", query={"limit": "1"})
    assert status == 200
    assert first["signings"][0] == {
        "signingId": "s0",
        "title": "Title s0",
        "state": "AWAITING_SIGNATURE",
        "externalReference": "ref-s0",
        "createdAt": first["signings"][0]["createdAt"],
        "updatedAt": first["signings"][0]["updatedAt"],
    }


def test_a_state_keeps_only_the_signings_in_it(api):
    now = datetime.now(UTC)
    stored("done-1", now - timedelta(minutes=1), repository.CANCELLED)
    stored("open-1", now - timedelta(minutes=2))
    stored("done-2", now - timedelta(days=35), repository.CANCELLED)

    pages = every_page(api, state="CANCELLED", limit="1")

    assert [signing for page in pages for signing in page] == ["done-1", "done-2"]


def test_signings_older_than_they_are_kept_are_not_looked_for(api):
    stored("recent", datetime.now(UTC))
    stored("ancient", datetime.now(UTC) - timedelta(days=900))

    assert [signing for page in every_page(api) for signing in page] == ["recent"]


def test_the_listing_is_queries_on_the_index_never_a_scan(api, monkeypatch):
    stored("only", datetime.now(UTC))
    calls = []
    table = repository.table()
    monkeypatch.setattr(repository, "table", lambda: table)
    monkeypatch.setattr(table, "scan", lambda **kw: calls.append(("scan", kw)))
    original_query = table.query
    monkeypatch.setattr(table, "query", lambda **kw: calls.append(("query", kw)) or original_query(**kw))

    every_page(api)

    assert calls and {name for name, _ in calls} == {"query"}
    assert {kw["IndexName"] for _, kw in calls} == {"byMonth"}


@pytest.mark.parametrize(
    "query",
    [
        {"cursor": "not-a-cursor"},
        {"cursor": "eyJtb250aCI6IjIwMjYtMTMiLCJrZXkiOm51bGx9"},  # month 13
        {"limit": "0"},
        {"limit": "101"},
        {"state": "DONE"},
    ],
)
def test_a_bad_query_is_a_400_problem_and_reads_nothing(api, query):
    status, answer = request(api, "GET", "/signings", query=query)

    assert status == 400
    assert answer["code"] == "INVALID_INPUT"
