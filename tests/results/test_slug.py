"""Page file names from ids: one name per id, always short enough for a file system."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from results.format import SLUG_MAX, slug

ids = st.text(min_size=1, max_size=400)


@given(ids, ids)
def test_two_ids_never_share_a_name(a: str, b: str) -> None:
    if a != b:
        assert slug(a) != slug(b)


@given(ids)
def test_a_name_fits_a_file_name_and_needs_no_quoting(text: str) -> None:
    name = slug(text)
    assert 0 < len(name) <= SLUG_MAX and len(f"{name}.html".encode()) <= 255
    assert name not in (".", "..") and name == slug(text)
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_~.")


def test_long_ids_that_share_a_start_get_different_names() -> None:
    assert slug("A" * 300) != slug("A" * 299 + "B")
    assert slug("A" * 300).startswith("A" * 40)
