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


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"title": None}, "[0].title"),
        ({"title": ""}, "[0].title"),
        ({"documents": []}, "[0].documents"),
        ({"documents": None}, "[0].documents"),
        ({"ui": {"language": "xx"}}, "[0].ui.language"),
        ({"signingSetup": [{"signingFlow": "MAGIC"}]}, "[0].signingSetup[0].signingFlow"),
        ({"packageTo": ["XADES_CONTAINER"]}, "[0].packageTo"),
        ({"dueDate": "2099-01-01T00:00:00Z"}, "[0].dueDate"),
        ({"dueDate": "yesterday"}, "[0].dueDate"),
        ({"redirectSettings": {"success": "not a url"}}, "[0].redirectSettings.success"),
        ({"subsequentTo": ["no-such-session"]}, "[0].subsequentTo"),
    ],
)
def test_invalid_session_field_is_named_in_invalid_params(api, doc, change, expected):
    request = api.session_request(*doc[:1], [doc[1]])
    request.update(change)
    for key in [k for k, v in change.items() if v is None]:
        del request[key]
    assert invalid_names(api.call("POST", "/sign/signing-sessions", json=[request])) == [expected]


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


def test_deleted_session_is_gone(api):
    session = api.new_session()
    assert api.call("DELETE", f"/sign/signing-sessions/{session['id']}").status_code == 204
    assert api.call("GET", f"/sign/signing-sessions/{session['id']}").status_code == 404
    assert api.call("DELETE", f"/sign/signing-sessions/{session['id']}").status_code == 404


def test_sessions_list_pages_with_limit_and_offset(api, doc):
    request = api.session_request(*doc[:1], [doc[1]])
    ids = [s["id"] for s in api.create_sessions(request, request, request)]
    page = api.call("GET", "/sign/signing-sessions", params={"limit": 2, "offset": 1}).json()
    assert [s["id"] for s in page] == ids[1:3]
    assert [s["id"] for s in api.call("GET", "/sign/signing-sessions").json()] == ids


def test_sessions_list_refuses_a_bad_limit(api):
    assert invalid_names(api.call("GET", "/sign/signing-sessions", params={"limit": "0"})) == ["limit"]


def test_session_subsequent_to_another_is_blocked_until_that_one_is_signed(api, doc):
    collection_id, document_id = doc
    [first] = api.create_sessions(api.session_request(collection_id, [document_id]))
    [second] = api.create_sessions(
        api.session_request(collection_id, [document_id], subsequentTo=[first["id"]])
    )
    assert second["lifecycle"]["state"] == "BLOCKED"
    assert api.act(second["id"], "sign").status_code == 409
    api.act(first["id"], "sign")
    assert api.session(second["id"])["lifecycle"]["state"] == "READY"


def test_session_due_date_within_30_days_is_kept(make_emulator, clock):
    api = Api(make_emulator(clock=clock).url)
    due = iso(clock.now + timedelta(days=7))
    assert api.new_session(dueDate=due)["dueDate"] == due
