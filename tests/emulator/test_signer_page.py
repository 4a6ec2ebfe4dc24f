from tests.emulator.conftest import http

REDIRECTS = {
    "success": "https://app.example/done?ref=1",
    "cancel": "https://app.example/cancelled",
    "error": "https://app.example/error",
}


def test_signature_url_shows_title_documents_and_buttons(api):
    session = api.new_session(title="Lease <Flat 3>")
    page = http("GET", session["signatureUrl"])
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Lease &lt;Flat 3&gt;" in page.text
    assert session["documents"][0]["documentId"] in page.text
    for action in ("sign", "reject", "cancel"):
        assert f'value="{action}"' in page.text


def test_document_link_on_the_page_serves_the_document(api, emulator):
    session = api.new_session()
    document_id = session["documents"][0]["documentId"]
    answer = http("GET", f"{emulator.url}/_emulator/signing-sessions/{session['id']}/documents/{document_id}")
    assert answer.content.startswith(b"%PDF-")


def test_signing_on_the_page_redirects_303_to_success(api, emulator):
    session = api.new_session(redirectSettings=REDIRECTS)
    answer = http(
        "POST",
        f"{emulator.url}/sign",
        data={"sessionId": session["id"], "action": "sign"},
        allow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["Location"] == REDIRECTS["success"]
    assert api.session(session["id"])["lifecycle"] == {"state": "SIGNED", "stateIsFinal": True}


def test_rejecting_on_the_page_redirects_to_cancel(api, emulator):
    session = api.new_session(redirectSettings=REDIRECTS)
    answer = http(
        "POST",
        f"{emulator.url}/sign",
        data={"sessionId": session["id"], "action": "reject"},
        allow_redirects=False,
    )
    assert answer.headers["Location"] == REDIRECTS["cancel"]
    assert api.session(session["id"])["lifecycle"] == {"state": "REJECTED", "stateIsFinal": True}


def test_cancelling_on_the_page_rejects_the_session(api, emulator):
    session = api.new_session(redirectSettings=REDIRECTS)
    answer = http(
        "POST",
        f"{emulator.url}/sign",
        data={"sessionId": session["id"], "action": "cancel"},
        allow_redirects=False,
    )
    assert answer.headers["Location"] == REDIRECTS["cancel"]
    assert api.session(session["id"])["lifecycle"]["state"] == "REJECTED"


def test_acting_on_a_finished_session_redirects_to_error(api, emulator):
    session = api.new_session(redirectSettings=REDIRECTS)
    api.act(session["id"], "sign")
    answer = http(
        "POST",
        f"{emulator.url}/sign",
        data={"sessionId": session["id"], "action": "reject"},
        allow_redirects=False,
    )
    assert answer.headers["Location"] == REDIRECTS["error"]
    assert api.session(session["id"])["lifecycle"]["state"] == "SIGNED"


def test_without_redirects_a_completion_page_is_shown(api, emulator):
    session = api.new_session()
    answer = http("POST", f"{emulator.url}/sign", data={"sessionId": session["id"], "action": "sign"})
    assert answer.status_code == 200
    assert "You have signed" in answer.text


def test_finished_session_page_has_no_buttons(api):
    session = api.new_session()
    api.act(session["id"], "sign")
    page = http("GET", session["signatureUrl"])
    assert "SIGNED" in page.text
    assert "<button" not in page.text


def test_page_for_an_unknown_session_is_404(emulator):
    assert http("GET", f"{emulator.url}/sign", params={"sessionId": "nope"}).status_code == 404


def test_scripted_sign_answers_the_session(api):
    session = api.new_session()
    answer = api.act(session["id"], "sign")
    assert answer.status_code == 200
    assert answer.json()["lifecycle"] == {"state": "SIGNED", "stateIsFinal": True}


def test_scripted_action_on_an_unknown_session_is_404(api):
    assert api.act("nope", "sign").status_code == 404


def test_scripted_action_twice_is_409(api):
    session = api.new_session()
    api.act(session["id"], "reject")
    answer = api.act(session["id"], "sign")
    assert answer.status_code == 409
    assert answer.json()["code"] == "CONFLICT"
