"""Signing sessions: an array in and out, the signer, signing order, redirects, vendor rules, reading,
deleting and listing. Created and read through the product's client; the page shape of the listing, which the
client reduces to its items, by raw HTTP."""

from __future__ import annotations

import pytest

from signing_core.signicat_errors import SignicatError
from signing_core.signicat_wire import lifecycle_state
from tests.contract.checks import (
    assert_problem,
    collection,
    invalid_param_names,
    session_item,
    signable,
    upload,
)

SIGNER = {
    "email": "signer@example.com",
    "mobile": "+358401234567",
    "nationalIdentificationNumber": "010101-123N",  # a well-known Finnish test identity
    "validations": ["NATIONAL_IDENTIFICATION_NUMBER"],
}
REDIRECTS = {
    "success": "https://example.com/signed?ref=contract",
    "cancel": "https://example.com/cancelled?ref=contract",
    "error": "https://example.com/failed?ref=contract",
}
MOST_LISTED = 2000  # an account listing more sessions is not paged through (the check is skipped)


def nbid_item(target, client, language: str) -> dict:
    """Norwegian BankID PKI signing (vendor NBID)."""
    setup = [{"identityProviders": [{"idpName": "nbid"}], "signingFlow": "PKISIGNING", "vendor": "NBID"}]
    return signable(target, client, signingSetup=setup, ui={"language": language})


def create(target, item: dict):
    return target.api.call("POST", "/signing-sessions", json=[item])


def test_sessions_are_created_from_an_array_as_an_array(client, target):
    """One POST of a JSON array makes one session per item, answered as an array in the same order: each
    with its id, an http(s) signatureUrl, lifecycle READY and not final, and an empty output."""
    document_id = upload(client)
    collection_id = collection(target, client, [document_id])
    items = [session_item(target, collection_id, [document_id]) for _ in range(2)]
    created = client.create_signing_sessions(items)
    assert [s.get("externalReference") for s in created] == [i["externalReference"] for i in items]
    assert len({s["id"] for s in created}) == 2
    for session in created:
        assert session["signatureUrl"].startswith(("https://", "http://"))
        assert (session["lifecycle"]["state"], session["lifecycle"]["stateIsFinal"]) == ("READY", False)
        assert session["output"].get("signatures", []) == [] and session["output"].get("packages", []) == []
        assert session["title"] == "Contract suite"
        assert [d["documentId"] for d in session["documents"]] == [document_id]


def test_session_answers_its_signer(client, target):
    """The expected signer {email, mobile, nationalIdentificationNumber, validations} is kept as given."""
    (created,) = client.create_signing_sessions([signable(target, client, signer=SIGNER)])
    read = client.get_signing_session(created["id"])
    assert {name: read.get("signer", {}).get(name) for name in SIGNER} == SIGNER


def test_session_without_identity_providers_is_created(client, target):
    """signingSetup may omit identityProviders (then all of the account's are offered), as the product does
    when neither the request nor its settings name one; the OpenAPI document marks it required."""
    item = signable(target, client, signingSetup=[{"signingFlow": "AUTHENTICATION_BASED"}])
    (created,) = client.create_signing_sessions([item])
    assert lifecycle_state(created) == "READY"


def test_session_subsequent_to_another_starts_blocked(client, target):
    """A session subsequentTo another waits for it: BLOCKED while that one is not signed."""
    (first,) = client.create_signing_sessions([signable(target, client)])
    (second,) = client.create_signing_sessions([signable(target, client, subsequentTo=[first["id"]])])
    assert lifecycle_state(second) == "BLOCKED"
    assert lifecycle_state(client.get_signing_session(second["id"])) == "BLOCKED"
    assert lifecycle_state(client.get_signing_session(first["id"])) == "READY"


def test_redirect_settings_are_answered_as_given(client, target):
    """redirectSettings {success, cancel, error} are kept as given (the merchant's reference in them)."""
    (created,) = client.create_signing_sessions([signable(target, client, redirectSettings=REDIRECTS)])
    assert client.get_signing_session(created["id"]).get("redirectSettings") == REDIRECTS


@pytest.mark.parametrize("missing", sorted(REDIRECTS))
def test_redirect_settings_need_all_three_urls(client, target, missing):
    """redirectSettings given without one of success, cancel and error is refused, naming redirectSettings."""
    redirects = {kind: url for kind, url in REDIRECTS.items() if kind != missing}
    problem = assert_problem(
        create(target, signable(target, client, redirectSettings=redirects)), 400, "invalid_request_parameter"
    )
    assert any("redirectsettings" in name.lower() for name in invalid_param_names(problem))


def test_pki_signing_needs_a_vendor(client, target):
    """signingFlow PKISIGNING without a vendor is refused, naming the vendor."""
    setup = [{"identityProviders": [{"idpName": target.identity_provider}], "signingFlow": "PKISIGNING"}]
    problem = assert_problem(
        create(target, signable(target, client, signingSetup=setup)), 400, "invalid_request_parameter"
    )
    assert any("vendor" in name.lower() for name in invalid_param_names(problem))


def test_nbid_vendor_outside_a_norwegian_locale_is_refused(client, target):
    """vendor NBID (Norwegian BankID PKI) with ui.language en is refused: NBID has only the Norwegian locale."""
    problem = assert_problem(
        create(target, nbid_item(target, client, "en")), 400, "invalid_request_parameter"
    )
    names = [name.lower() for name in invalid_param_names(problem)]
    assert any("vendor" in name or "language" in name for name in names), names


def test_nbid_vendor_in_norwegian_is_accepted(client, target):
    """vendor NBID with ui.language nb is a session, READY (the account must offer Norwegian BankID PKI)."""
    (created,) = client.create_signing_sessions([nbid_item(target, client, "nb")])
    assert lifecycle_state(created) == "READY"


def test_session_is_read_back_and_is_gone_after_delete(client, target):
    """GET answers the session; DELETE removes it; GET and a second DELETE then answer 404 not_found."""
    (created,) = client.create_signing_sessions([signable(target, client)])
    read = client.get_signing_session(created["id"])
    assert (read["id"], read["signatureUrl"], read["title"]) == (
        created["id"],
        created["signatureUrl"],
        created["title"],
    )
    client.delete_signing_session(created["id"])
    with pytest.raises(SignicatError) as gone:
        client.get_signing_session(created["id"])
    assert (gone.value.status, gone.value.code) == (404, "not_found")
    assert_problem(target.api.call("GET", f"/signing-sessions/{created['id']}"), 404, "not_found")
    assert_problem(target.api.call("DELETE", f"/signing-sessions/{created['id']}"), 404, "not_found")


def listed_total(target) -> int:
    page = target.api.json("GET", "/signing-sessions", params={"limit": 1, "offset": 0})
    assert isinstance(page.get("total"), int), sorted(page)
    if page["total"] > MOST_LISTED:
        pytest.skip(f"the account lists {page['total']} signing sessions: too many to page through")
    return page["total"]


def test_session_listing_is_a_page(client, target):
    """GET /signing-sessions?limit&offset answers {data, count, limit, offset, total}, not a bare array, and
    offset moves through the sessions."""
    listed_total(target)
    client.create_signing_sessions([signable(target, client), signable(target, client)])
    pages = [
        target.api.json("GET", "/signing-sessions", params={"limit": 1, "offset": offset})
        for offset in (0, 1)
    ]
    for offset, page in enumerate(pages):
        assert isinstance(page, dict) and isinstance(page.get("data"), list), type(page).__name__
        assert (page.get("count"), page.get("limit"), page.get("offset")) == (1, 1, offset)
        assert isinstance(page.get("total"), int) and page["total"] >= 2
    assert pages[0]["data"][0]["id"] != pages[1]["data"][0]["id"]


def test_client_pages_through_every_session(client, target):
    """The product's client pages through the listing (as a start that died is cleaned up) and finds every
    session the account holds, ours among them."""
    total = listed_total(target)
    ours = {
        s["id"] for s in client.create_signing_sessions([signable(target, client), signable(target, client)])
    }
    seen, offset, limit = set(), 0, 50
    while True:
        page = client.list_signing_sessions(limit=limit, offset=offset)
        seen |= {session["id"] for session in page}
        if len(page) < limit:
            break
        offset += limit
    assert ours <= seen, f"{len(ours - seen)} of ours not listed among {len(seen)} (total was {total})"
