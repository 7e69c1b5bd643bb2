"""Reading a text file of the event folder: UTF-8, or a problem that says what it is.

Spreadsheets save CSV as Windows-1252, Latin-1 or UTF-16; a wrong encoding is named,
with the line of the first byte that is not UTF-8, instead of failing later.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from timing.errors import Problem

_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def read_text(path: Path, utf16: bool = False) -> tuple[str | None, list[Problem]]:
    """The file's text (a UTF-8 BOM dropped; UTF-16 with a BOM decoded if `utf16`), or
    None and the problem."""
    file = path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, [Problem(file, None, "-", "file not found")]
    except IsADirectoryError:
        return None, [Problem(file, None, "-", f"{path} is a folder; it must be a file")]
    except OSError as exc:
        return None, [Problem(file, None, "-", f"cannot be read: {exc.strerror or exc}")]
    if data.startswith(_UTF16_BOMS):
        if not utf16:
            return None, [Problem(file, 1, "-", "is saved as UTF-16: save it as UTF-8")]
        try:
            return data.decode("utf-16"), []
        except UnicodeDecodeError as exc:
            return None, [Problem(file, None, "-", f"is not valid UTF-16: {exc.reason}")]
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        hint = " (UTF-16 without a byte order mark?)" if data.count(0) * 3 > len(data) else ""
        return None, [Problem(file, line, "-", f"contains NUL bytes{hint}: save it as UTF-8")]
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return None, [Problem(file, line, "-", _not_utf8(data, exc.start))]


def _not_utf8(data: bytes, at: int) -> str:
    """Name the likely encoding: bytes 0x80-0x9F are printable in Windows-1252 only."""
    byte = data[at]
    legacy = any(0x80 <= b <= 0x9F for b in data)
    name = "Windows-1252" if legacy else "Latin-1 (ISO-8859-1) or Windows-1252"
    shown = bytes([byte]).decode("cp1252", errors="replace")
    return (
        f"is not UTF-8: byte 0x{byte:02X} ({shown!r} in {name.split(' ')[0]}); it looks like "
        f"{name}: save it as UTF-8 (in a spreadsheet: CSV UTF-8)"
    )
