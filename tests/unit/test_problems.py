"""A problem's title is the status's RFC 9110 name under every Python version (the functions run python3.13,
the OpenAPI document is generated under the development interpreter)."""

from __future__ import annotations

from signing_core import problems


def test_titles_are_rfc_9110_names_whatever_the_interpreter_calls_them():
    assert problems.title(413) == "Content Too Large"
    assert problems.title(422) == "Unprocessable Content"
    assert problems.title(404) == "Not Found"


def test_a_problem_carries_the_title_of_its_status():
    body = problems.problem(413, "too large", code="PAYLOAD_TOO_LARGE", traceId=None)

    assert body == {
        "type": "about:blank",
        "title": "Content Too Large",
        "status": 413,
        "detail": "too large",
        "code": "PAYLOAD_TOO_LARGE",
    }
