"""The evidence pack's documents rendered: one HTML file each (with a print stylesheet:
A4, tables that keep their header on every page, one form per page), and all of them
in one PDF through WeasyPrint, which lays HTML and CSS out without a browser.

WeasyPrint needs Pango (Debian: libpango-1.0-0, libpangoft2-1.0-0,
libharfbuzz-subset0). Where those libraries are missing the pack is written without
the PDF (its file list shows it); the HTML documents print the same from any browser.
"""

from __future__ import annotations

import logging

from results.evidence_forms import Documents
from results.site import environment

DOCUMENTS = (  # file in the pack, template, in the PDF's order
    ("documents/cover_letter.html", "evidence_cover.html"),
    ("documents/log_book.html", "evidence_logbook.html"),
    ("documents/witness_statements.html", "evidence_witness.html"),
    ("documents/timekeeper_statements.html", "evidence_timekeeper.html"),
    ("documents/guide_declaration.html", "evidence_guides.html"),
    ("documents/video_sync.html", "evidence_video.html"),
)
PDF = "documents/documents.pdf"


def render_documents(doc: Documents) -> dict[str, bytes]:
    env = environment()
    return {
        name: env.get_template(template).render(doc=doc).encode("utf-8")
        for name, template in DOCUMENTS
    }


def pdf_available() -> str | None:
    """None when the PDF can be made, else why not."""
    try:
        import weasyprint  # noqa: F401  (its import loads Pango)
    except (ImportError, OSError) as exc:
        return f"no PDF: WeasyPrint cannot load ({exc})"
    return None


def documents_pdf(rendered: dict[str, bytes]) -> bytes:
    """The documents, in `DOCUMENTS` order, as one PDF. Deterministic: no time but the
    documents' own `dcterms.created` goes into it, and the file identifier is fixed."""
    import weasyprint

    # WeasyPrint logs every CSS property it ignores (the screen-only rules): not news.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    pages = []
    first = None
    for name, _ in DOCUMENTS:
        document = weasyprint.HTML(string=rendered[name].decode("utf-8")).render()
        first = first or document
        pages.extend(document.pages)
    assert first is not None
    return first.copy(pages).write_pdf(pdf_identifier=b"retrotime-evidence")
