"""A strict check of the pages we write, with the standard library's html.parser.

html.parser accepts anything; on top of it this checks what our pages promise: a
doctype, `<html lang>`, every non-void element closed in order (SVG children may
self-close), unique ids, header cells with a scope, no inline or remote scripts, and
it collects the links and the cells of result tables for the tests to compare.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


@dataclass
class Table:
    id: str
    head: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    row_attrs: list[dict[str, str]] = field(default_factory=list)


class StrictPage(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.stack: list[str] = []
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.doctype = ""
        self.lang = ""
        self.tables: list[Table] = []
        self.svg_circles: list[dict[str, str]] = []
        self.scripts: list[dict[str, str]] = []
        self.texts: list[str] = []
        self._table: Table | None = None
        self._section = ""
        self._cell: list[str] | None = None
        self._row: list[str] | None = None

    # ---- parser callbacks --------------------------------------------------------

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open(tag, attrs)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID and "svg" not in self.stack:
            self.problems.append(f"<{tag}/> self-closed outside SVG at {self.getpos()}")
        self._open(tag, attrs)
        self._close(tag, pushed=False)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            self.problems.append(f"end tag </{tag}> of a void element at {self.getpos()}")
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(
                f"</{tag}> at {self.getpos()} does not close the open <{self.stack[-1:]}>"
            )
            if tag in self.stack:
                while self.stack and self.stack[-1] != tag:
                    self.stack.pop()
            else:
                return
        self.stack.pop()
        self._close(tag, pushed=True)

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        if self._cell is not None:
            self._cell.append(data)

    # ---- bookkeeping -------------------------------------------------------------

    def _open(self, tag: str, raw: list[tuple[str, str | None]]) -> None:
        names = [k for k, _ in raw]
        if len(names) != len(set(names)):
            self.problems.append(f"<{tag}> repeats an attribute at {self.getpos()}")
        attrs = {k: v or "" for k, v in raw}
        if "id" in attrs:
            if attrs["id"] in self.ids:
                self.problems.append(f"duplicate id {attrs['id']!r}")
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if key in attrs:
                self.links.append(attrs[key])
        if tag == "html":
            self.lang = attrs.get("lang", "")
        if tag == "script":
            self.scripts.append(attrs)
        if tag == "circle" and "svg" in self.stack:
            self.svg_circles.append(attrs)
        if tag == "table":
            self._table = Table(attrs.get("id", ""))
            self.tables.append(self._table)
        elif tag in ("thead", "tbody"):
            self._section = tag
        elif tag == "tr" and self._table is not None:
            self._row = []
            if self._section == "tbody":
                self._table.row_attrs.append(attrs)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            if tag == "th" and attrs.get("scope") not in ("col", "row"):
                self.problems.append(f"<th> without scope at {self.getpos()}")

    def _close(self, tag: str, pushed: bool) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            if self._section == "thead":
                self._table.head = self._row
            else:
                self._table.rows.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
            self._section = ""


def check_page(text: str) -> StrictPage:
    """Parse a page; the result's `problems` lists everything wrong with it."""
    page = StrictPage()
    page.feed(text)
    page.close()
    if page.doctype.lower() != "doctype html":
        page.problems.append(f"doctype is {page.doctype!r}")
    if not page.lang:
        page.problems.append("<html> has no lang")
    if page.stack:
        page.problems.append(f"unclosed elements at the end: {page.stack}")
    for script in page.scripts:
        src = script.get("src", "")
        if not src or "://" in src or src.startswith("//"):
            page.problems.append(f"a script that is inline or remote: {script}")
    return page


def table(page: StrictPage, table_id: str) -> Table:
    return next(t for t in page.tables if t.id == table_id)
