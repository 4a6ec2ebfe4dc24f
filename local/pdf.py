"""Small PDF helpers for the offline stack: sample documents and plain text rendered to PDF pages.

Built with pyHanko's writer so the cross-reference table and object layout are always correct.
"""

from __future__ import annotations

import textwrap
from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

# A4 in points, with a 50 pt margin; Helvetica is one of the 14 standard fonts, so nothing is embedded.
PAGE_WIDTH, PAGE_HEIGHT = 595, 842
MARGIN = 50
BODY_SIZE, TITLE_SIZE = 11, 16
LEADING = 14
WRAP_COLUMNS = 90
LINES_PER_PAGE = (PAGE_HEIGHT - 2 * MARGIN) // LEADING


def sample_pdf(title: str, lines: list[str]) -> bytes:
    """A small valid PDF: the title in large type, then the lines (wrapped, paginated as needed)."""
    return _render(_wrap(lines), title=title)


def text_to_pdf(text: str) -> bytes:
    """Plain text as PDF pages: lines kept, long lines wrapped, as many pages as needed."""
    return _render(_wrap(text.splitlines() or [""]), title=None)


def _wrap(lines: list[str]) -> list[str]:
    wrapped: list[str] = []
    for line in lines:
        expanded = line.expandtabs(4).rstrip()
        wrapped.extend(textwrap.wrap(expanded, WRAP_COLUMNS, drop_whitespace=False) or [""])
    return wrapped


def _render(lines: list[str], title: str | None) -> bytes:
    writer = PdfFileWriter()
    font = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Font"),
                pdf_name("/Subtype"): pdf_name("/Type1"),
                pdf_name("/BaseFont"): pdf_name("/Helvetica"),
                pdf_name("/Encoding"): pdf_name("/WinAnsiEncoding"),
            }
        )
    )
    resources = generic.DictionaryObject(
        {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): font})}
    )
    first_page_room = LINES_PER_PAGE - (2 if title is not None else 0)
    chunks = [lines[:first_page_room]]
    rest = lines[first_page_room:]
    while rest:
        chunks.append(rest[:LINES_PER_PAGE])
        rest = rest[LINES_PER_PAGE:]
    for index, chunk in enumerate(chunks):
        content = _content_stream(chunk, title if index == 0 else None)
        stream = writer.add_object(generic.StreamObject(stream_data=content))
        page = PageObject(
            contents=stream,
            media_box=generic.ArrayObject(map(generic.NumberObject, (0, 0, PAGE_WIDTH, PAGE_HEIGHT))),
            resources=resources,
        )
        writer.insert_page(page)
    return _to_bytes(writer)


def _content_stream(lines: list[str], title: str | None) -> bytes:
    ops = [f"BT /F1 {BODY_SIZE} Tf {LEADING} TL {MARGIN} {PAGE_HEIGHT - MARGIN - BODY_SIZE} Td"]
    if title is not None:
        ops.append(f"/F1 {TITLE_SIZE} Tf <{_hex(title)}> Tj T* T* /F1 {BODY_SIZE} Tf")
    ops.extend(f"<{_hex(line)}> Tj T*" for line in lines)
    ops.append("ET")
    return "\n".join(ops).encode("ascii")


def _hex(text: str) -> str:
    # A hex string needs no escaping; characters outside WinAnsi become '?'.
    return text.encode("cp1252", errors="replace").hex()


def _to_bytes(writer: PdfFileWriter) -> bytes:
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
