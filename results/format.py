"""Small text helpers of the published site: file names, paces, distances, sort keys."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
_CATEGORY = re.compile(r"^([A-Z]?)(U?)(\d*)")
# File systems allow 255 bytes per name; this leaves room for `.html` and the like.
SLUG_MAX = 160


def slug(text: str) -> str:
    """A file name for any id: letters, digits, `-` and `_` stay, every other character
    becomes `~` and its UTF-8 bytes in hex. Injective (UTF-8 is prefix-free), never empty
    for a non-empty id, never `.` or `..`, and needs no URL quoting. A longer name than
    SLUG_MAX is cut and ends in `.` and the SHA-256 of the id: still one name per id
    (no short name holds a `.`), and the same on every run."""
    name = "".join(c if c in _SAFE else "~" + c.encode().hex() for c in text)
    if len(name) <= SLUG_MAX:
        return name
    digest = hashlib.sha256(text.encode()).hexdigest()
    return f"{name[: SLUG_MAX - len(digest) - 1]}.{digest}"


def format_pace(seconds_per_km: float | None) -> str:
    """`M:SS /km`, seconds rounded down like every written time."""
    if seconds_per_km is None:
        return ""
    seconds = int(seconds_per_km)
    return f"{seconds // 60}:{seconds % 60:02d} /km"


def format_km(metres: float) -> str:
    return f"{metres / 1000:g} km"


def category_key(category: str) -> tuple[str, int, int, str]:
    """Categories in age order within each sex: F, FU20, F20-34 ... F80+, then M, X."""
    match = _CATEGORY.match(category)
    assert match is not None  # the pattern matches every string
    sex, under, low = match.groups()
    rest = category[len(sex) :]
    if not rest:
        return (sex, 0, 0, category)
    if not low:
        return (sex, 3, 0, category)
    return (sex, 1 if under else 2, int(low), category)


def search_key(*parts: str) -> str:
    """Lower case, compatibility forms unified and marks (accents) removed, as the page's
    script folds what the user types: `toLowerCase().normalize("NFKD").replace(/\\p{M}/gu, "")`
    (so "µ" and "μ", "ﬁ" and "fi", "é" and "e" are alike)."""
    text = " ".join(p for p in parts if p).lower()
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c for c in folded if not unicodedata.category(c).startswith("M"))


def search_words(query: str) -> list[str]:
    """What a search for `query` looks for: its words, folded as `search_key` folds."""
    return search_key(query).split()


def matches(key: str, query: str) -> bool:
    """The search rule of every RetroTime page, live or published (`site.js` does the
    same): each word of the query appears somewhere in the runner's key, so "fernandez"
    finds "Fernández", "50" finds bibs 501-509 and a club's name finds its runners."""
    words = search_words(query)
    return bool(words) and all(w in key for w in words)


def point_name(distance_m: float, first: bool, last: bool) -> str:
    """A timing point as spectators say it: "Start", "10 km", "21.1 km", "Finish"."""
    if last:
        return "Finish"
    if first and distance_m == 0:
        return "Start"
    return format_distance(distance_m)


def format_short(ms: int) -> str:
    """A duration to the second without leading zeros: "0:42", "12:05", "1:02:30"."""
    seconds = max(0, ms) // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, sec = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{sec:02d}" if hours else f"{minutes}:{sec:02d}"


def format_distance(metres: float) -> str:
    """A distance for spectators, to 100 m: "10 km", "21.1 km"."""
    return f"{round(metres / 1000, 1):g} km"
