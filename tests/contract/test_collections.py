"""Document collections, with and without a collection-level packageTo.

The product's client creates a collection without packageTo and cannot read one back: GET and DELETE of
/document-collections/{id} and packageTo go by raw HTTP here.
"""

from __future__ import annotations

import uuid

from tests.contract.checks import PADES_CONTAINER, assert_problem, collection, upload


def test_collection_holds_its_documents_in_order(client, target):
    """A collection made by the product's client answers its id; read back, it lists the documents in the
    order given and has no package."""
    first, second = upload(client), upload(client, "text/plain")
    created = client.create_document_collection([first, second])
    assert isinstance(created.get("id"), str) and created["id"]
    read = target.api.collection(created["id"])
    assert [d["documentId"] for d in read["documents"]] == [first, second]
    assert (read.get("output") or {}).get("packages", []) == []


def test_collection_with_package_to_starts_without_a_package(client, target):
    """packageTo ["PADES_CONTAINER"] on a collection is kept; its output.packages stays empty until every
    session referencing its documents is signed."""
    collection_id = collection(target, client, [upload(client)], package_to=[PADES_CONTAINER])
    read = target.api.collection(collection_id)
    assert read.get("packageTo") == [PADES_CONTAINER]
    assert read["output"]["packages"] == []


def test_collection_of_an_unknown_document_is_refused(target):
    """A collection naming a document that does not exist is refused with a problem."""
    body = {"documents": [{"documentId": str(uuid.uuid4())}]}
    assert_problem(target.api.call("POST", "/document-collections", json=body), (400, 404))


def test_deleted_collection_answers_404(client, target):
    """DELETE /document-collections/{id} removes it: reading it afterwards is 404 not_found."""
    collection_id = collection(target, client, [upload(client)])
    deleted = target.api.call("DELETE", f"/document-collections/{collection_id}")
    assert deleted.status_code in (200, 204), deleted.status_code
    assert_problem(target.api.call("GET", f"/document-collections/{collection_id}"), 404, "not_found")
