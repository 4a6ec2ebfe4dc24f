import re

import pytest

from tests.emulator.conftest import http

REDIRECTS = {
    "success": "https://app.example/done?ref=1",
    "cancel": "https://app.example/cancelled",
    "error": "https://app.example/error",
}
NUMBER = "01017012345"
CHECKED = {
    "email": "ada@example.com",
    "nationalIdentificationNumber": NUMBER,
    "validations": ["NATIONAL_IDENTIFICATION_NUMBER"],
}


def submit(emulator, session, action="sign", **fields):
    form = {"sessionId": session["id"], "action": action, **fields}
    return http("POST", f"{emulator.url}/sign", data=form, allow_redirects=False)


def state(api, session) -> str:
    return api.session(session["id"])["lifecycle"]["state"]


def test_page_shows_title_sender_documents_signer_and_the_identity_form(api):
    session = api.new_session(
        title="Lease <Flat 3>", senderDisplayName="Acme AS", signer=CHECKED, signText="I agree"
    )
    page = http("GET", session["signatureUrl"])
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Lease &lt;Flat 3&gt;" in page.text
    assert "Acme AS asks you to sign" in page.text
    assert "I agree" in page.text
    document_url = (
        f"/_emulator/signing-sessions/{session['id']}/documents/{session['documents'][0]['documentId']}"
    )
    assert f'<iframe class="document" src="{document_url}"' in page.text
    assert "ada@example.com" in page.text
    assert "ending in 2345" in page.text and NUMBER not in page.text  # the number is not shown whole
    assert re.search(r'<input id="nin" name="nationalIdentificationNumber"[^>]* required>', page.text)
    for action in ("sign", "reject", "cancel"):
        assert f'value="{action}"' in page.text


def test_text_document_is_shown_on_the_page(api):
    document_id = api.upload(b"Rent is 100 <EUR>.\n", "text/plain")
    collection_id = api.collection(document_id)
    [session] = api.create_sessions(api.session_request(collection_id, [document_id]))
    assert "Rent is 100 &lt;EUR&gt;." in http("GET", session["signatureUrl"]).text


def test_page_without_a_signer_says_anyone_may_sign(api):
    page = http("GET", api.new_session()["signatureUrl"]).text
    assert "Anyone holding this link may sign." in page
    assert not re.search(r'name="nationalIdentificationNumber"[^>]* required', page)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "Identify yourself"),
        ("nb", "Identifiser deg"),
        ("sv", "Identifiera dig"),
        ("fi", "Identify yourself"),
    ],
)
def test_page_speaks_the_sessions_language(api, language, words):
    page = http("GET", api.new_session(ui={"language": language})["signatureUrl"]).text
    assert f'<html lang="{language}">' in page
    assert words in page


def test_document_link_on_the_page_serves_the_document(api, emulator):
    session = api.new_session()
    document_id = session["documents"][0]["documentId"]
    answer = http("GET", f"{emulator.url}/_emulator/signing-sessions/{session['id']}/documents/{document_id}")
    assert answer.content.startswith(b"%PDF-")


def test_document_of_another_session_is_not_served(api, emulator):
    mine, other = api.new_session(), api.new_session()
    other_document = other["documents"][0]["documentId"]
    answer = http("GET", f"{emulator.url}/_emulator/signing-sessions/{mine['id']}/documents/{other_document}")
    assert answer.status_code == 404


def test_signing_on_the_page_redirects_303_to_success(api, emulator):
    session = api.new_session(redirectSettings=REDIRECTS)
    answer = submit(emulator, session, name="Ada Lovelace")
    assert answer.status_code == 303
    assert answer.headers["Location"] == REDIRECTS["success"]
    assert api.session(session["id"])["lifecycle"] == {"state": "SIGNED", "stateIsFinal": True}


def test_matching_identity_signs(api, emulator):
    session = api.new_session(signer=CHECKED, redirectSettings=REDIRECTS)
    answer = submit(emulator, session, name="Ada Lovelace", nationalIdentificationNumber="010170 12345")
    assert answer.headers["Location"] == REDIRECTS["success"]
    assert state(api, session) == "SIGNED"


def test_mismatching_identity_is_refused_and_sent_to_error(api, emulator):
    session = api.new_session(signer=CHECKED, redirectSettings=REDIRECTS)
    answer = submit(emulator, session, name="Eve", nationalIdentificationNumber="02027012345")
    assert answer.headers["Location"] == REDIRECTS["error"]
    assert state(api, session) == "READY"
    assert api.session(session["id"])["output"]["signatures"] == []


def test_mismatching_identity_without_redirects_shows_the_refusal(api, emulator):
    session = api.new_session(signer=CHECKED)
    answer = submit(emulator, session, name="Eve", nationalIdentificationNumber="02027012345")
    assert answer.status_code == 403
    assert "does not match the expected signer" in answer.text
    assert 'id="identity"' in answer.text  # the form again: the right person may still sign
    assert state(api, session) == "READY"


@pytest.mark.parametrize(
    ("fields", "message"),
    [({}, "Enter your full name."), ({"name": "Ada"}, "Enter your national identity number.")],
)
def test_missing_identity_fields_are_asked_for_again(api, emulator, fields, message):
    session = api.new_session(signer=CHECKED, redirectSettings=REDIRECTS)
    answer = submit(emulator, session, **fields)
    assert answer.status_code == 400
    assert message in answer.text
    assert state(api, session) == "READY"


def test_without_validations_any_number_is_accepted(api, emulator):
    session = api.new_session(signer={"nationalIdentificationNumber": NUMBER})
    assert submit(emulator, session, name="Ada", nationalIdentificationNumber="999").status_code == 200
    assert state(api, session) == "SIGNED"


def test_rejecting_on_the_page_redirects_to_cancel(api, emulator):
    session = api.new_session(redirectSettings=REDIRECTS)
    answer = submit(emulator, session, "reject")
    assert answer.headers["Location"] == REDIRECTS["cancel"]
    assert api.session(session["id"])["lifecycle"] == {"state": "REJECTED", "stateIsFinal": True}


def test_cancelling_on_the_page_leaves_the_session_ready(api, emulator):
    session = api.new_session(redirectSettings=REDIRECTS)
    answer = submit(emulator, session, "cancel")
    assert answer.headers["Location"] == REDIRECTS["cancel"]
    assert api.session(session["id"])["lifecycle"] == {"state": "READY", "stateIsFinal": False}
    assert submit(emulator, session, name="Ada").headers["Location"] == REDIRECTS["success"]


def test_acting_on_a_finished_session_redirects_to_error(api, emulator):
    session = api.new_session(redirectSettings=REDIRECTS)
    api.act(session["id"], "sign")
    answer = submit(emulator, session, "reject")
    assert answer.headers["Location"] == REDIRECTS["error"]
    assert state(api, session) == "SIGNED"


@pytest.mark.parametrize(
    ("action", "text"),
    [("sign", "You have signed"), ("reject", "You have rejected"), ("cancel", "You can sign later")],
)
def test_without_redirects_a_completion_page_is_shown(api, emulator, action, text):
    session = api.new_session()
    answer = submit(emulator, session, action, name="Ada")
    assert answer.status_code == 200
    assert text in answer.text


def test_blocked_session_page_says_it_waits_and_has_no_form(api):
    first = api.new_session()
    document = first["documents"][0]
    request = api.session_request(
        document["documentCollectionId"], [document["documentId"]], subsequentTo=[first["id"]]
    )
    [second] = api.create_sessions(request)
    page = http("GET", second["signatureUrl"]).text
    assert "waits for others to sign first" in page
    assert "<form" not in page


def test_finished_session_page_has_no_buttons(api):
    session = api.new_session()
    api.act(session["id"], "sign")
    page = http("GET", session["signatureUrl"])
    assert "SIGNED" in page.text
    assert "<button" not in page.text


def test_page_for_an_unknown_session_is_404(emulator):
    assert http("GET", f"{emulator.url}/sign", params={"sessionId": "nope"}).status_code == 404


def test_page_for_a_deleted_session_is_404(api):
    session = api.new_session()
    api.call("DELETE", f"/sign/signing-sessions/{session['id']}")
    assert http("GET", session["signatureUrl"]).status_code == 404


# --- the script endpoints


def test_scripted_sign_answers_the_session(api):
    session = api.new_session()
    answer = api.act(session["id"], "sign")
    assert answer.status_code == 200
    assert answer.json()["lifecycle"] == {"state": "SIGNED", "stateIsFinal": True}


def test_scripted_sign_without_identity_signs_as_the_expected_signer(api):
    session = api.new_session(signer=CHECKED)
    assert api.act(session["id"], "sign").status_code == 200


def test_scripted_sign_with_a_matching_identity_signs(api):
    session = api.new_session(signer=CHECKED)
    answer = api.act(session["id"], "sign", {"name": "Ada", "nationalIdentificationNumber": NUMBER})
    assert answer.json()["lifecycle"]["state"] == "SIGNED"


@pytest.mark.parametrize(
    "identity", [{"name": "Eve", "nationalIdentificationNumber": "02027012345"}, {"name": "Eve"}]
)
def test_scripted_sign_as_someone_else_is_refused(api, identity):
    session = api.new_session(signer=CHECKED)
    answer = api.act(session["id"], "sign", identity)
    assert answer.status_code == 403
    assert answer.json()["code"] == "identity_mismatch"
    assert state(api, session) == "READY"


@pytest.mark.parametrize(
    "identity", [{}, {"name": ""}, {"name": "Ada", "nationalIdentificationNumber": 7}, ["Ada"]]
)
def test_scripted_sign_with_a_malformed_identity_is_400(api, identity):
    session = api.new_session()
    assert api.act(session["id"], "sign", identity).status_code == 400
    assert state(api, session) == "READY"


def test_scripted_action_on_an_unknown_session_is_404(api):
    assert api.act("nope", "sign").status_code == 404


def test_scripted_action_twice_is_409(api):
    session = api.new_session()
    api.act(session["id"], "reject")
    answer = api.act(session["id"], "sign")
    assert answer.status_code == 409
    assert answer.json()["code"] == "conflict"
