from io import BytesIO

from pyhanko.pdf_utils.reader import PdfFileReader

from local.pdf import sample_pdf, text_to_pdf


def pages(pdf: bytes) -> list:
    reader = PdfFileReader(BytesIO(pdf))
    return [
        reader.find_page_for_modification(i)[0].get_object()
        for i in range(int(reader.root["/Pages"]["/Count"]))
    ]


def page_text(page) -> bytes:
    return page["/Contents"].get_object().data


def test_sample_pdf_is_one_page_with_title_and_lines():
    pdf = sample_pdf("Rental agreement", ["Tenant: Ada", "Rent: 100"])
    assert pdf.startswith(b"%PDF-")
    [page] = pages(pdf)
    content = page_text(page)
    for text in ("Rental agreement", "Tenant: Ada", "Rent: 100"):
        assert text.encode("cp1252").hex().encode() in content


def test_text_to_pdf_paginates_long_text():
    text = "\n".join(f"line {i}" for i in range(120))
    rendered = pages(text_to_pdf(text))
    assert len(rendered) == 3
    assert b"line 119".hex().encode() in page_text(rendered[-1])


def test_text_to_pdf_wraps_long_lines():
    [page] = pages(text_to_pdf("word " * 100))
    assert page_text(page).count(b"Tj") > 1


def test_text_outside_winansi_is_replaced_not_fatal():
    [page] = pages(text_to_pdf("Привет ø"))
    assert "?????? ø".encode("cp1252").hex().encode() in page_text(page)


def test_empty_text_gives_one_blank_page():
    assert len(pages(text_to_pdf(""))) == 1
