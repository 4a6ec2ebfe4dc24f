"""The signing page as a person uses it: headless Chromium (Debian's, see `make chromium`) driven by Playwright,
clicking and typing, landing on the session's redirect."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from local.pdf import sample_pdf
from tests.browser import chromium, click, identify_and_sign, new_page
from tests.emulator.conftest import Api

NUMBER = "01017012345"
SIGNER = {
    "email": "ada@example.com",
    "nationalIdentificationNumber": NUMBER,
    "validations": ["NATIONAL_IDENTIFICATION_NUMBER"],
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with new_page(browser) as opened:
        yield opened


def signing(api: Api, receiver, **fields) -> dict:
    """A session on a PDF and a text document whose redirects land on the local receiver."""
    pdf = api.upload(sample_pdf("Lease", ["Flat 3"]))
    text = api.upload(b"The rent is 100 EUR a month.\n", "text/plain")
    collection_id = api.collection(pdf, text)
    redirects = {kind: f"{receiver.url}/{kind}?ref=lease-1" for kind in ("success", "cancel", "error")}
    request = api.session_request(
        collection_id, [pdf, text], title="Lease of flat 3", redirectSettings=redirects, **fields
    )
    return api.create_sessions(request)[0]


def test_signer_sees_the_documents_identifies_signs_and_lands_on_success(api, receiver, page):
    session = signing(api, receiver, signer=SIGNER, senderDisplayName="Acme AS", ui={"language": "en"})
    page.goto(session["signatureUrl"])
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Lease of flat 3")).to_be_visible()
    expect(page.get_by_text("Acme AS asks you to sign")).to_be_visible()
    expect(page.get_by_text("ada@example.com")).to_be_visible()
    expect(page.get_by_text("The rent is 100 EUR a month.")).to_be_visible()
    pdf = page.locator("iframe.document")
    expect(pdf).to_be_visible()
    # what the browser loads into the embedded viewer is the PDF itself
    head = "url => fetch(url).then(r => r.text()).then(t => t.slice(0, 5))"
    assert page.evaluate(head, pdf.get_attribute("src")) == "%PDF-"
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("National identity number").fill(NUMBER)
    click(page, "Sign")
    page.wait_for_url(f"{receiver.url}/success?ref=lease-1")
    assert api.session(session["id"])["lifecycle"] == {"state": "SIGNED", "stateIsFinal": True}


def test_someone_else_is_refused_and_sent_to_error(api, receiver, page):
    session = signing(api, receiver, signer=SIGNER)
    page.goto(session["signatureUrl"])
    page.get_by_label("Full name").fill("Eve Mallory")
    page.get_by_label("National identity number").fill("02027054321")
    click(page, "Sign")
    page.wait_for_url(f"{receiver.url}/error?ref=lease-1")
    assert api.session(session["id"])["lifecycle"]["state"] == "READY"


def test_mismatch_without_redirects_is_shown_and_the_right_person_can_sign(api, page):
    session = api.new_session(signer=SIGNER, ui={"language": "sv"})
    page.goto(session["signatureUrl"])
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    swedish = {"labels": ("Fullständigt namn", "Personnummer"), "button": "Underteckna"}
    identify_and_sign(page, "Eve Mallory", "02027054321", **swedish)
    expect(page.get_by_role("alert")).to_contain_text("stämmer inte")
    identify_and_sign(page, "Ada Lovelace", NUMBER, **swedish)
    expect(page.get_by_text("Du har undertecknat.")).to_be_visible()
    assert api.session(session["id"])["lifecycle"]["state"] == "SIGNED"


def test_signer_rejects_in_norwegian_and_lands_on_cancel(api, receiver, page):
    session = signing(api, receiver, ui={"language": "nb"})
    page.goto(session["signatureUrl"])
    expect(page.locator("html")).to_have_attribute("lang", "nb")
    click(page, "Avvis")
    page.wait_for_url(f"{receiver.url}/cancel?ref=lease-1")
    assert api.session(session["id"])["lifecycle"] == {"state": "REJECTED", "stateIsFinal": True}
