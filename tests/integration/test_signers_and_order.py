"""Who signs, in which order, and what the signer sees: the API's request fields as Signicat receives them (the
emulator over real HTTP), and every session rule Signicat enforces answered by the API before Signicat is called."""

from __future__ import annotations

import json

import pytest
import requests

from tests.functions import load_handler
from tests.integration.test_api_function import request, start_body

NUMBER = "01017012345"
ANOTHER_NUMBER = "02028054321"
SESSIONS_POST = "POST /sign/signing-sessions"


@pytest.fixture
def api(signicat):
    return load_handler("api")


def start(api, **changes) -> dict:
    status, created = request(api, "POST", "/signings", start_body(**changes))
    assert status == 201, created
    return created


def at_signicat(signicat, created: dict) -> list[dict]:
    return [signicat.session(s["sessionId"]) for s in created["sessions"]]


def refused(api, signicat, aws, param: str, **changes) -> dict:
    """The request answers 400 naming `param`, and nothing reached Signicat or the table."""
    status, problem = request(api, "POST", "/signings", start_body(**changes))
    assert status == 400, problem
    assert problem["code"] == "INVALID_INPUT"
    assert param in [p["name"] for p in problem["invalidParams"]], problem
    assert "POST /sign/documents" not in signicat.stats()["requests"]
    assert aws.table.scan()["Count"] == 0
    return problem


# --- signers -----------------------------------------------------------------------------------------------


def test_each_signer_is_its_sessions_signer_and_an_identity_number_is_validated(api, signicat):
    created = start(
        api,
        signers=[
            {"email": "tenant@example.com", "nationalIdentificationNumber": NUMBER},
            {"mobile": "+4712345678"},
        ],
    )
    tenant, other = at_signicat(signicat, created)
    assert tenant["signer"] == {
        "email": "tenant@example.com",
        "nationalIdentificationNumber": NUMBER,
        "validations": ["NATIONAL_IDENTIFICATION_NUMBER"],
    }
    assert other["signer"] == {"mobile": "+4712345678"}
    # Identity-provider settings are no place for signer data.
    assert not any(s["signingSetup"][0].get("additionalParameters") for s in (tenant, other))


def test_verify_identity_false_names_the_signer_without_validating_the_number(api, signicat):
    created = start(api, signers=[{"nationalIdentificationNumber": NUMBER, "verifyIdentity": False}])
    (session,) = at_signicat(signicat, created)
    assert session["signer"] == {"nationalIdentificationNumber": NUMBER}
    assert created["sessions"][0]["signer"]["verifyIdentity"] is False


def test_an_anonymous_signer_sends_no_signer_object(api, signicat):
    (session,) = at_signicat(signicat, start(api))
    assert session.get("signer") is None


def test_a_signer_named_by_number_cannot_sign_as_someone_else(api, signicat):
    created = start(api, signers=[{"nationalIdentificationNumber": NUMBER}])
    session_id = created["sessions"][0]["sessionId"]
    sign = f"{signicat.url}/_emulator/signing-sessions/{session_id}/sign"
    impostor = requests.post(
        sign, json={"name": "Eve", "nationalIdentificationNumber": ANOTHER_NUMBER}, timeout=10
    )
    assert impostor.status_code == 403
    assert signicat.session(session_id)["lifecycle"]["state"] == "READY"
    signer = requests.post(sign, json={"name": "Tenant", "nationalIdentificationNumber": NUMBER}, timeout=10)
    assert signer.status_code == 200
    assert signicat.session(session_id)["lifecycle"]["state"] == "SIGNED"


def test_verify_identity_without_a_number_is_refused(api, signicat, aws):
    refused(
        api,
        signicat,
        aws,
        "signers.0.verifyIdentity",
        signers=[{"email": "a@example.com", "verifyIdentity": True}],
    )


def test_the_api_shows_identity_numbers_masked_and_keeps_them_nowhere(api, signicat, aws):
    signers = [
        {"email": "a@example.com", "nationalIdentificationNumber": "010170-12345"},
        {"mobile": "+4712345678"},
    ]
    created = start(api, signers=signers)
    _, read = request(api, "GET", f"/signings/{created['signingId']}")
    for answer in (created, read):
        assert [s["signer"] for s in answer["sessions"]] == [
            {
                "email": "a@example.com",
                "mobile": None,
                "nationalIdentificationNumber": "*******2345",
                "verifyIdentity": True,
            },
            {
                "email": None,
                "mobile": "+4712345678",
                "nationalIdentificationNumber": None,
                "verifyIdentity": False,
            },
        ]
    stored = json.dumps(aws.table.scan()["Items"], default=str)
    for shown in (json.dumps(created), json.dumps(read), stored):
        assert "12345" not in shown.replace("+4712345678", "")  # the whole number, and its first digits
        assert "010170" not in shown


# --- what the signer sees --------------------------------------------------------------------------------------


def test_sender_display_name_comes_from_the_deployment_unless_the_request_names_one(
    api, signicat, monkeypatch
):
    (plain,) = at_signicat(signicat, start(api))
    assert "senderDisplayName" not in plain or plain["senderDisplayName"] is None
    monkeypatch.setenv("SENDER_DISPLAY_NAME", "Example Rentals AS")
    api.settings.cache_clear()
    (default,) = at_signicat(signicat, start(api))
    (named,) = at_signicat(signicat, start(api, senderDisplayName="Example Rentals, Oslo office"))
    assert (default["senderDisplayName"], named["senderDisplayName"]) == (
        "Example Rentals AS",
        "Example Rentals, Oslo office",
    )


def test_sign_text_reaches_every_session(api, signicat):
    created = start(api, signers=[{}, {}], signText="I have read the agreement and accept it.")
    assert {s["signText"] for s in at_signicat(signicat, created)} == {
        "I have read the agreement and accept it."
    }


# --- signing order ----------------------------------------------------------------------------------------------


def test_sequential_sessions_are_created_one_by_one_each_after_the_one_before(api, signicat):
    signers = [{"email": f"signer{n}@example.com"} for n in range(3)]
    created = start(api, signers=signers, signingOrder="sequential")

    assert signicat.stats()["requests"][SESSIONS_POST] == 3
    first, second, third = at_signicat(signicat, created)
    assert not first.get("subsequentTo")
    assert second["subsequentTo"] == [first["id"]]
    assert third["subsequentTo"] == [second["id"]]
    _, read = request(api, "GET", f"/signings/{created['signingId']}")
    for answer in (created, read):
        assert answer["signingOrder"] == "sequential"
        assert [(s["signer"]["email"], s["state"]) for s in answer["sessions"]] == [
            ("signer0@example.com", "READY"),
            ("signer1@example.com", "BLOCKED"),
            ("signer2@example.com", "BLOCKED"),
        ]
        assert [s["signatureUrl"] for s in answer["sessions"]] == [
            s["signatureUrl"] for s in (first, second, third)
        ]
    signicat.act(first["id"])
    assert signicat.session(second["id"])["lifecycle"]["state"] == "READY"
    assert signicat.session(third["id"])["lifecycle"]["state"] == "BLOCKED"


def test_parallel_is_the_default_one_post_and_no_session_waits(api, signicat):
    created = start(api, signers=[{}, {}])
    assert created["signingOrder"] == "parallel"
    assert signicat.stats()["requests"][SESSIONS_POST] == 1
    assert [s.get("subsequentTo") or [] for s in at_signicat(signicat, created)] == [[], []]
    assert [s["state"] for s in created["sessions"]] == ["READY", "READY"]


def test_an_unknown_signing_order_is_refused(api, signicat, aws):
    refused(api, signicat, aws, "signingOrder", signingOrder="alphabetical")


# --- every session rule Signicat enforces, answered before Signicat is called ----------------------------------


def test_pkisigning_without_vendor_is_refused_and_with_one_reaches_signicat(api, signicat, aws):
    problem = refused(api, signicat, aws, "vendor", signingFlow="PKISIGNING")
    assert "PKISIGNING" in problem["detail"]
    (session,) = at_signicat(signicat, start(api, signingFlow="PKISIGNING", vendor="BUYPASS"))
    setup = session["signingSetup"][0]
    assert (setup["signingFlow"], setup["vendor"]) == ("PKISIGNING", "BUYPASS")


@pytest.mark.parametrize("language", ["en", "sv", None])
def test_nbid_outside_a_norwegian_language_is_refused(api, signicat, aws, language):
    changes = {"signingFlow": "PKISIGNING", "vendor": "NBID"}
    if language:
        changes["language"] = language
    refused(api, signicat, aws, "language", **changes)


def test_nbid_in_norwegian_reaches_signicat_from_the_request_or_the_deployment(api, signicat, monkeypatch):
    (named,) = at_signicat(signicat, start(api, signingFlow="PKISIGNING", vendor="NBID", language="nn"))
    monkeypatch.setenv("DEFAULT_LANGUAGE", "nb")
    api.settings.cache_clear()
    (default,) = at_signicat(signicat, start(api, signingFlow="PKISIGNING", vendor="NBID"))
    assert (named["ui"]["language"], default["ui"]["language"]) == ("nn", "nb")


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        (
            {"success": "https://example.com/done?ref=order-4711"},
            {
                "success": "https://example.com/done?ref=order-4711",
                "cancel": "https://example.com/done?ref=order-4711&outcome=cancel",
                "error": "https://example.com/done?ref=order-4711&outcome=error",
            },
        ),
        (
            {"cancel": "https://example.com/back#top", "error": "https://example.com/oops"},
            {
                "success": "https://example.com/back?outcome=success#top",
                "cancel": "https://example.com/back#top",
                "error": "https://example.com/oops",
            },
        ),
        (
            {"error": "https://example.com/x?outcome=mine&a=%20b"},
            {
                "success": "https://example.com/x?a=%20b&outcome=success",
                "cancel": "https://example.com/x?a=%20b&outcome=cancel",
                "error": "https://example.com/x?outcome=mine&a=%20b",
            },
        ),
    ],
    ids=["success-only", "cancel-and-error", "error-only-with-its-own-outcome"],
)
def test_partial_redirects_reach_signicat_complete(api, signicat, given, sent):
    (session,) = at_signicat(signicat, start(api, redirectSettings=given))
    assert session["redirectSettings"] == sent


def test_an_empty_redirect_object_sends_none_and_signicat_shows_its_completion_page(api, signicat):
    # An empty object sent as it is would be refused (all three are required once redirectSettings is given).
    (session,) = at_signicat(signicat, start(api, redirectSettings={}))
    assert not session.get("redirectSettings")


@pytest.mark.parametrize(
    ("changes", "param"),
    [
        ({"redirectSettings": {"success": "http://"}}, "redirectSettings.success"),
        ({"redirectSettings": {"cancel": "https://example.com/a b"}}, "redirectSettings.cancel"),
        ({"redirectSettings": {"error": "ftp://example.com/"}}, "redirectSettings.error"),
        ({"redirectSettings": {"success": "https://[example.com/"}}, "redirectSettings.success"),
        ({"identityProviders": [""]}, "identityProviders.0"),
        ({"identityProviders": ["ftn", "  "]}, "identityProviders.1"),
        ({"vendor": "", "signingFlow": "PKISIGNING"}, "vendor"),
        ({"signers": [{"mobile": " 4712345678"}]}, "signers.0.mobile"),
        ({"signers": [{"mobile": "+47-1234-5678"}]}, "signers.0.mobile"),
        ({"signers": [{}, {"email": "someone@"}]}, "signers.1.email"),
        ({"signers": [{"nationalIdentificationNumber": "   "}]}, "signers.0.nationalIdentificationNumber"),
        ({"signers": [{"nationalIdentificationNumber": ""}]}, "signers.0.nationalIdentificationNumber"),
        ({"senderDisplayName": ""}, "senderDisplayName"),
        ({"signText": 5}, "signText"),
    ],
    ids=[
        "redirect-without-host",
        "redirect-with-blank",
        "redirect-not-http",
        "redirect-unbalanced-bracket",
        "empty-idp",
        "blank-idp",
        "empty-vendor",
        "mobile-leading-blank",
        "mobile-dashes",
        "email-without-domain",
        "blank-number",
        "empty-number",
        "empty-sender",
        "sign-text-not-text",
    ],
)
def test_what_signicat_would_refuse_in_a_session_is_refused_by_the_api(api, signicat, aws, changes, param):
    refused(api, signicat, aws, param, **changes)
