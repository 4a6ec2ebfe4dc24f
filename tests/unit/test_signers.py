"""A signer as Signicat receives it and as the product shows it: the identity number masked, validations asked."""

from __future__ import annotations

import pytest

from signing_core.signing_requests import Signer, mask


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("01017012345", "*******2345"),
        ("010170-12345", "*******2345"),
        ("19900101-1234", "********1234"),
        ("010170-123A", "******123A"),
        ("12345", "*2345"),
        ("1234", "****"),  # a number no longer than 4 is not shown at all
        ("12", "**"),
    ],
)
def test_an_identity_number_is_shown_by_its_last_four_characters_only(number, shown):
    assert mask(number) == shown


def test_a_number_asks_signicat_to_validate_the_signer_unless_turned_off():
    named = Signer(email="a@example.com", nationalIdentificationNumber="01017012345")
    unchecked = Signer(nationalIdentificationNumber="01017012345", verifyIdentity=False)
    assert named.wire() == {
        "email": "a@example.com",
        "nationalIdentificationNumber": "01017012345",
        "validations": ["NATIONAL_IDENTIFICATION_NUMBER"],
    }
    assert unchecked.wire() == {"nationalIdentificationNumber": "01017012345"}
    assert Signer().wire() == {}


def test_the_summary_keeps_contact_details_and_never_the_whole_number():
    summary = Signer(mobile="+4712345678", nationalIdentificationNumber="01017012345").summary()
    assert summary == {
        "mobile": "+4712345678",
        "nationalIdentificationNumber": "*******2345",
        "verifyIdentity": True,
    }
    assert Signer().summary() == {"verifyIdentity": False}
