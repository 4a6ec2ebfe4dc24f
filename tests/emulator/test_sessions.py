from datetime import timedelta

import pytest

from local.emulator.values import iso, parse_iso
from tests.emulator.conftest import Api


@pytest.fixture
def doc(api: Api) -> tuple[str, str]:
    """(collection id, document id) of an uploaded one-document collection."""
    document_id = api.upload()
    return api.collection(document_id), document_id


def invalid_names(answer) -> list[str]:
    assert answer.status_code == 400, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    body = answer.json()
    assert {"type", "title", "status", "code", "detail", "traceId", "invalidParams"} <= body.keys()
    assert body["code"] == "invalid_request_parameter"
    assert body["type"].endswith("/invalid-request-parameter")
    assert all(p["reason"] for p in body["invalidParams"])
    return [p["name"] for p in body["invalidParams"]]


def test_collection_is_created_with_its_documents(api):
    first, second = api.upload(), api.upload(b"text", "text/plain")
    answer = api.call(
        "POST",
        "/sign/document-collections",
        json={"documents": [{"documentId": first}, {"documentId": second}]},
    )
    assert answer.status_code == 201
    assert answer.json()["documents"] == [{"documentId": first}, {"documentId": second}]
    assert answer.json()["id"]


def test_collection_with_an_unknown_document_is_400(api):
    known = api.upload()
    body = {"documents": [{"documentId": known}, {"documentId": "missing"}]}
    assert invalid_names(api.call("POST", "/sign/document-collections", json=body)) == [
        "documents[1].documentId"
    ]


def test_collection_without_documents_is_400(api):
    assert invalid_names(api.call("POST", "/sign/document-collections", json={})) == ["documents"]


def test_session_answer_has_every_field_of_the_guide(api, emulator, doc):
    collection_id, document_id = doc
    redirects = {
        "error": "https://example.com/e",
        "cancel": "https://example.com/c",
        "success": "https://example.com/s",
    }
    request = api.session_request(collection_id, [document_id], redirectSettings=redirects)
    answer = api.call("POST", "/sign/signing-sessions", json=[request])
    assert answer.status_code == 201
    [session] = answer.json()
    assert session["signatureUrl"] == f"{emulator.url}/sign?sessionId={session['id']}"
    assert session["title"] == "Rental agreement"
    assert session["documents"] == [
        {"documentCollectionId": collection_id, "action": "SIGN", "documentId": document_id}
    ]
    assert session["lifecycle"] == {"state": "READY", "stateIsFinal": False}
    assert session["output"] == {"signatures": [], "packages": []}
    assert session["externalReference"] == "ext-1"
    assert session["signingSetup"] == [
        {
            "identityProviders": [{"idpName": "ftn"}],
            "signingFlow": "AUTHENTICATION_BASED",
            "additionalParameters": {},
        }
    ]
    assert session["subsequentTo"] == []
    assert session["packageTo"] == ["PADES_CONTAINER"]
    assert session["ui"] == {"language": "fi"}
    assert session["redirectSettings"] == redirects
    assert api.session(session["id"]) == session


def test_session_due_date_defaults_to_30_days(make_emulator, clock):
    api = Api(make_emulator(clock=clock).url)
    session = api.new_session()
    assert parse_iso(session["dueDate"]) == clock.now + timedelta(days=30)


def test_several_sessions_are_created_in_one_call(api, doc):
    collection_id, document_id = doc
    sessions = api.create_sessions(
        api.session_request(collection_id, [document_id], externalReference="a"),
        api.session_request(collection_id, [document_id], externalReference="b"),
    )
    assert [s["externalReference"] for s in sessions] == ["a", "b"]
    assert sessions[0]["id"] != sessions[1]["id"]


REDIRECTS = {
    "success": "https://a.example/s",
    "cancel": "https://a.example/c",
    "error": "https://a.example/e",
}
PKI = {"signingFlow": "PKISIGNING", "identityProviders": [{"idpName": "nbid"}]}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # required fields
        ({"title": None}, ["[0].title"]),
        ({"title": ""}, ["[0].title"]),
        ({"title": 5}, ["[0].title"]),
        ({"documents": []}, ["[0].documents"]),
        ({"documents": None}, ["[0].documents"]),
        ({"signingSetup": None}, ["[0].signingSetup"]),
        ({"signingSetup": []}, ["[0].signingSetup"]),
        ({"signingSetup": {"signingFlow": "AUTHENTICATION_BASED"}}, ["[0].signingSetup"]),
        ({"signingSetup": ["x"]}, ["[0].signingSetup[0]"]),
        (
            {"signingSetup": [{"identityProviders": [{"idpName": "ftn"}]}]},
            ["[0].signingSetup[0].signingFlow"],
        ),
        ({"signingSetup": [{"signingFlow": "MAGIC"}]}, ["[0].signingSetup[0].signingFlow"]),
        # PKI signing needs a vendor, NBID a Norwegian locale
        ({"signingSetup": [PKI]}, ["[0].signingSetup[0].vendor"]),
        ({"signingSetup": [{**PKI, "vendor": ""}]}, ["[0].signingSetup[0].vendor"]),
        (
            {"signingSetup": [{**PKI, "vendor": "NBID"}], "ui": {"language": "en"}},
            ["[0].signingSetup[0].vendor"],
        ),
        (
            {"signingSetup": [{"signingFlow": "AUTHENTICATION_BASED", "identityProviders": [{"name": "x"}]}]},
            ["[0].signingSetup[0].identityProviders"],
        ),
        # additionalParameters: identity-provider settings, strings only
        (
            {"signingSetup": [{"signingFlow": "AUTHENTICATION_BASED", "additionalParameters": ["a"]}]},
            ["[0].signingSetup[0].additionalParameters"],
        ),
        (
            {"signingSetup": [{"signingFlow": "AUTHENTICATION_BASED", "additionalParameters": {"n": 1}}]},
            ["[0].signingSetup[0].additionalParameters.n"],
        ),
        # signer
        ({"signer": "ada@example.com"}, ["[0].signer"]),
        ({"signer": {"email": "not an address"}}, ["[0].signer.email"]),
        ({"signer": {"mobile": "call me"}}, ["[0].signer.mobile"]),
        (
            {"signer": {"nationalIdentificationNumber": 12345678901}},
            ["[0].signer.nationalIdentificationNumber"],
        ),
        ({"signer": {"validations": ["EMAIL"]}}, ["[0].signer.validations"]),
        (
            {"signer": {"validations": ["NATIONAL_IDENTIFICATION_NUMBER"]}},
            ["[0].signer.nationalIdentificationNumber"],
        ),
        # the rest
        ({"ui": {"language": "xx"}}, ["[0].ui.language"]),
        ({"ui": {"language": "en-GB"}}, ["[0].ui.language"]),
        ({"ui": "en"}, ["[0].ui"]),
        ({"packageTo": ["XADES_CONTAINER"]}, ["[0].packageTo"]),
        ({"dueDate": "2099-01-01T00:00:00Z"}, ["[0].dueDate"]),
        ({"dueDate": "2020-01-01T00:00:00Z"}, ["[0].dueDate"]),
        ({"dueDate": "2030-01-01T00:00:00"}, ["[0].dueDate"]),
        ({"dueDate": "yesterday"}, ["[0].dueDate"]),
        ({"redirectSettings": {**REDIRECTS, "success": "not a url"}}, ["[0].redirectSettings.success"]),
        ({"redirectSettings": {**REDIRECTS, "error": "ftp://a.example/e"}}, ["[0].redirectSettings.error"]),
        (
            {"redirectSettings": {"success": "https://a.example/s"}},
            ["[0].redirectSettings.cancel", "[0].redirectSettings.error"],
        ),
        ({"redirectSettings": {}}, [f"[0].redirectSettings.{k}" for k in ("success", "cancel", "error")]),
        ({"redirectSettings": "https://a.example"}, ["[0].redirectSettings"]),
        ({"subsequentTo": ["no-such-session"]}, ["[0].subsequentTo"]),
        ({"subsequentTo": "no-such-session"}, ["[0].subsequentTo"]),
        ({"externalReference": 42}, ["[0].externalReference"]),
        ({"senderDisplayName": ["Acme"]}, ["[0].senderDisplayName"]),
        ({"signText": 1}, ["[0].signText"]),
        ({"preAuthentication": {"enabled": "yes"}}, ["[0].preAuthentication"]),
    ],
)
def test_invalid_session_field_is_named_in_invalid_params(api, doc, change, expected):
    request = api.session_request(*doc[:1], [doc[1]])
    request.update(change)
    for key in [k for k, v in change.items() if v is None]:
        del request[key]
    assert invalid_names(api.call("POST", "/sign/signing-sessions", json=[request])) == expected


def test_refused_request_creates_no_session(api, doc):
    request = api.session_request(*doc[:1], [doc[1]])
    bad = {**request, "signingSetup": [PKI]}
    assert api.call("POST", "/sign/signing-sessions", json=[request, bad]).status_code == 400
    assert api.call("GET", "/sign/signing-sessions").json()["total"] == 0


@pytest.mark.parametrize(
    "setup",
    [
        {**PKI, "vendor": "BUYPASS"},
        {
            "signingFlow": "AUTHENTICATION_BASED"
        },  # no identityProviders: every one of the account's is offered
        {
            "signingFlow": "AUTHENTICATION_BASED",
            "identityProviders": [{"idpName": "sbid"}],
            "additionalParameters": {"sbid_flow": "QR"},
        },
    ],
)
def test_accepted_signing_setups_are_answered_as_given(api, doc, setup):
    session = api.new_session(signingSetup=[setup])
    assert session["signingSetup"] == [{"identityProviders": [], "additionalParameters": {}, **setup}]


def test_nbid_pki_signing_is_accepted_in_norwegian(api):
    session = api.new_session(signingSetup=[{**PKI, "vendor": "NBID"}], ui={"language": "nb"})
    assert session["signingSetup"][0]["vendor"] == "NBID"


def test_signer_and_display_fields_are_stored_and_returned(api):
    signer = {
        "email": "ada@example.com",
        "mobile": "+4712345678",
        "nationalIdentificationNumber": "01017012345",
        "validations": ["NATIONAL_IDENTIFICATION_NUMBER"],
    }
    extra = {"senderDisplayName": "Acme AS", "signText": "I agree.", "preAuthentication": {"enabled": False}}
    session = api.new_session(signer=signer, **extra)
    assert session["signer"] == signer
    assert {k: session[k] for k in extra} == extra
    assert api.session(session["id"])["signer"] == signer


def test_session_without_a_signer_answers_none(api):
    assert "signer" not in api.new_session()


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"action": "SIGN", "documentId": "x"}, "[0].documents[0].documentCollectionId"),
        ({"action": "SIGN", "documentCollectionId": "x"}, "[0].documents[0].documentId"),
        ({"action": "STAMP", "documentCollectionId": "C", "documentId": "D"}, "[0].documents[0].action"),
        (
            {"action": "SIGN", "documentCollectionId": "unknown", "documentId": "D"},
            "[0].documents[0].documentId",
        ),
        (
            {"action": "SIGN", "documentCollectionId": "C", "documentId": "unknown"},
            "[0].documents[0].documentId",
        ),
    ],
)
def test_invalid_session_document_is_named_in_invalid_params(api, doc, document, expected):
    collection_id, document_id = doc
    filled = {k: {"C": collection_id, "D": document_id}.get(v, v) for k, v in document.items()}
    request = api.session_request(collection_id, [document_id], documents=[filled])
    assert invalid_names(api.call("POST", "/sign/signing-sessions", json=[request])) == [expected]


def test_every_problem_of_a_request_is_listed(api, doc):
    request = api.session_request(*doc[:1], [doc[1]], title="", ui={"language": "klingon"})
    names = invalid_names(api.call("POST", "/sign/signing-sessions", json=[request, "nope"]))
    assert names == ["[0].title", "[0].ui.language", "[1]"]


def test_session_body_that_is_not_an_array_is_400(api, doc):
    request = api.session_request(*doc[:1], [doc[1]])
    assert invalid_names(api.call("POST", "/sign/signing-sessions", json=request)) == ["body"]


def test_session_body_with_malformed_json_is_400(api):
    answer = api.call(
        "POST", "/sign/signing-sessions", data=b"[{", headers={"Content-Type": "application/json"}
    )
    assert invalid_names(answer) == ["body"]


def test_session_body_that_is_not_json_is_415(api):
    answer = api.call("POST", "/sign/signing-sessions", data=b"[]", headers={"Content-Type": "text/plain"})
    assert answer.status_code == 415


def test_unknown_session_is_404(api):
    answer = api.call("GET", "/sign/signing-sessions/nope")
    assert answer.status_code == 404
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["code"] == "not_found"


def test_rejected_session_stays_readable_and_final(api):
    session = api.new_session()
    api.act(session["id"], "reject")
    assert api.session(session["id"])["lifecycle"] == {"state": "REJECTED", "stateIsFinal": True}


def test_session_past_its_due_date_is_gone(make_emulator, clock):
    api = Api(make_emulator(clock=clock).url)
    session = api.new_session(dueDate=iso(clock.now + timedelta(hours=1)))
    clock.advance(minutes=59)
    assert api.act(session["id"], "cancel").status_code == 200
    clock.advance(minutes=1)
    api.get_token()
    assert api.call("GET", f"/sign/signing-sessions/{session['id']}").status_code == 404
    assert api.act(session["id"], "sign").status_code == 404


def test_deleted_session_is_gone(api):
    session = api.new_session()
    assert api.call("DELETE", f"/sign/signing-sessions/{session['id']}").status_code == 204
    assert api.call("GET", f"/sign/signing-sessions/{session['id']}").status_code == 404
    assert api.call("DELETE", f"/sign/signing-sessions/{session['id']}").status_code == 404


def test_sessions_list_pages_with_limit_and_offset(api, doc):
    request = api.session_request(*doc[:1], [doc[1]])
    ids = [s["id"] for s in api.create_sessions(request, request, request)]
    page = api.call("GET", "/sign/signing-sessions", params={"limit": 2, "offset": 1}).json()
    assert page == {
        "data": [api.session(i) for i in ids[1:3]],
        "count": 2,
        "limit": 2,
        "offset": 1,
        "total": 3,
    }
    whole = api.call("GET", "/sign/signing-sessions").json()
    assert [s["id"] for s in whole["data"]] == ids
    assert (whole["count"], whole["limit"], whole["offset"], whole["total"]) == (3, 100, 0, 3)
    newest_first = api.call("GET", "/sign/signing-sessions", params={"sort": "desc", "limit": 1}).json()
    assert [s["id"] for s in newest_first["data"]] == ids[-1:]
    past_the_end = api.call("GET", "/sign/signing-sessions", params={"offset": 5}).json()
    assert (past_the_end["data"], past_the_end["count"], past_the_end["total"]) == ([], 0, 3)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"sort": "up"}, "sort"),
    ],
)
def test_sessions_list_refuses_bad_parameters(api, params, expected):
    assert invalid_names(api.call("GET", "/sign/signing-sessions", params=params)) == [expected]


def test_sessions_list_leaves_out_deleted_and_expired_sessions(make_emulator, clock):
    api = Api(make_emulator(clock=clock).url)
    kept = api.new_session()
    deleted = api.new_session()
    api.new_session(dueDate=iso(clock.now + timedelta(days=1)))
    api.call("DELETE", f"/sign/signing-sessions/{deleted['id']}")
    clock.advance(days=1)
    api.get_token()
    page = api.call("GET", "/sign/signing-sessions").json()
    assert [s["id"] for s in page["data"]] == [kept["id"]]
    assert page["total"] == 1


def test_session_subsequent_to_another_is_blocked_until_that_one_is_signed(api, doc):
    collection_id, document_id = doc
    [first] = api.create_sessions(api.session_request(collection_id, [document_id]))
    [second] = api.create_sessions(
        api.session_request(collection_id, [document_id], subsequentTo=[first["id"]])
    )
    assert second["lifecycle"] == {"state": "BLOCKED", "stateIsFinal": False}
    assert second["subsequentTo"] == [first["id"]]
    refused = api.act(second["id"], "sign")
    assert refused.status_code == 409
    assert refused.json()["code"] == "conflict"
    assert api.session(second["id"])["lifecycle"]["state"] == "BLOCKED"
    api.act(first["id"], "sign")
    assert api.session(second["id"])["lifecycle"]["state"] == "READY"
    assert api.act(second["id"], "sign").json()["lifecycle"]["state"] == "SIGNED"


def test_session_following_two_waits_for_both(api, doc):
    collection_id, document_id = doc
    request = api.session_request(collection_id, [document_id])
    first, second = api.create_sessions(request, request)
    [third] = api.create_sessions({**request, "subsequentTo": [first["id"], second["id"]]})
    api.act(first["id"], "sign")
    assert api.session(third["id"])["lifecycle"]["state"] == "BLOCKED"
    api.act(second["id"], "sign")
    assert api.session(third["id"])["lifecycle"]["state"] == "READY"


def test_session_following_a_signed_one_starts_ready(api, doc):
    collection_id, document_id = doc
    [first] = api.create_sessions(api.session_request(collection_id, [document_id]))
    api.act(first["id"], "sign")
    [second] = api.create_sessions(
        api.session_request(collection_id, [document_id], subsequentTo=[first["id"]])
    )
    assert second["lifecycle"]["state"] == "READY"


def test_session_following_a_rejected_one_stays_blocked(api, doc):
    collection_id, document_id = doc
    [first] = api.create_sessions(api.session_request(collection_id, [document_id]))
    [second] = api.create_sessions(
        api.session_request(collection_id, [document_id], subsequentTo=[first["id"]])
    )
    api.act(first["id"], "reject")
    assert api.session(second["id"])["lifecycle"]["state"] == "BLOCKED"


def test_subsequent_to_a_deleted_session_is_400(api, doc):
    collection_id, document_id = doc
    first = api.new_session()  # its own document: deleting it leaves this one
    api.call("DELETE", f"/sign/signing-sessions/{first['id']}")
    request = api.session_request(collection_id, [document_id], subsequentTo=[first["id"]])
    assert invalid_names(api.call("POST", "/sign/signing-sessions", json=[request])) == ["[0].subsequentTo"]


def test_session_due_date_within_30_days_is_kept(make_emulator, clock):
    api = Api(make_emulator(clock=clock).url)
    due = iso(clock.now + timedelta(days=7))
    assert api.new_session(dueDate=due)["dueDate"] == due
