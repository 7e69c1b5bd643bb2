"""The printable documents of an evidence pack: all there, hashed, filled from the
result, and a log book with no gap over an hour that is not marked for the witnesses."""

from __future__ import annotations

import io
import itertools
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from results.evidence import SUMS, verify
from results.evidence_forms import documents_of
from results.evidence_logbook import HOUR_MS, log_book
from results.evidence_print import DOCUMENTS, PDF, pdf_available, render_documents
from tests.results.conftest import BIB, GENERATED, Example
from tests.results.htmlcheck import check_page
from tests.timing.builders import write_folder
from tests.timing.track_event import HEADER, SECOND, Track, event_toml, gun
from tests.timing.track_event import person as track_person
from tests.timing.validation_race import HALF_M, Reads, make_folder, results
from timing.engine import Engine
from timing.errors import FolderError
from timing.folder import load_folder
from timing.results import Result, Split
from timing.times import format_duration

NAMES = [name for name, _ in DOCUMENTS]


def read(archive: zipfile.ZipFile, name: str) -> str:
    return archive.read(f"evidence-{BIB}/{name}").decode("utf-8")


class LogRows(HTMLParser):
    """The rows of a log book: (kind, elapsed ms or None, class, text of the row)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, object]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and "data-kind" in found:
            elapsed = found.get("data-elapsed-ms") or ""
            self.rows.append(
                {
                    "kind": found["data-kind"],
                    "elapsed": int(elapsed) if elapsed else None,
                    "class": found.get("class") or "",
                    "text": "",
                }
            )

    def handle_data(self, data: str) -> None:
        if self.rows:
            self.rows[-1]["text"] = str(self.rows[-1]["text"]) + data


def log_rows(html: str) -> list[dict[str, object]]:
    parser = LogRows()
    parser.feed(html)
    return parser.rows


def assert_no_unmarked_gap(rows: list[dict[str, object]]) -> None:
    timed = [r for r in rows if r["elapsed"] is not None]
    for a, b in itertools.pairwise(timed):
        assert int(b["elapsed"]) - int(a["elapsed"]) <= HOUR_MS, (a, b)  # type: ignore[call-overload]
    for row in rows:
        if row["kind"] in ("witness", "not read"):
            assert row["class"] == "gap" and "to be filled in by the witnesses" in str(row["text"])


# ---- the pack -------------------------------------------------------------------------


def test_the_pack_holds_every_document_in_its_manifest(pack: Path) -> None:
    with zipfile.ZipFile(pack) as archive:
        assert verify(archive) == []
        listed = {line.split("  ", 1)[1] for line in read(archive, SUMS).splitlines()}
        expected = set(NAMES) | ({PDF} if pdf_available() is None else set())
        assert expected <= listed
        for name in NAMES:
            page = check_page(read(archive, name))
            assert page.problems == [], name
        assert "documents/cover_letter.html" in read(archive, "summary.html")


def test_documents_are_filled_from_the_result(pack: Path, example: Example) -> None:
    result = next(r for rr in example.results.races for r in rr.results if r.bib == BIB)
    chip_times = [format_duration(s.chip_time_ms) for s in result.splits]
    with zipfile.ZipFile(pack) as archive:
        cover = read(archive, "documents/cover_letter.html")
        witness = read(archive, "documents/witness_statements.html")
        timekeeper = read(archive, "documents/timekeeper_statements.html")
        video = read(archive, "documents/video_sync.html")
        guides = read(archive, "documents/guide_declaration.html")
    assert "Ines Fernández" in cover and "Riverside" in cover and "2:13:47.1" in cover
    assert "reader K10, clock offset -1.2 s" in cover  # how it was measured
    assert "testing a DQ" in cover  # the director's decisions are incidents
    assert "Record title applied for" in cover  # for the director to complete
    for form in (witness, timekeeper):
        assert form.count('<section class="form"') == 2  # two witnesses, two timekeepers
        for chip_time in chip_times:
            assert chip_time and chip_time in form
    assert "toes pointing opposite the running direction" in witness
    for split in result.splits:
        assert f"{split.point}</th>" in video
    assert "2026-04-12T" in video  # UTC instants to align footage with
    assert "lists no spotter guiding this bib" in guides


def test_the_pdf_holds_every_document(pack: Path) -> None:
    if pdf_available() is not None:
        pytest.skip(pdf_available())
    from pypdf import PdfReader

    with zipfile.ZipFile(pack) as archive:
        pdf = archive.read(f"evidence-{BIB}/{PDF}")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for heading in (
        "Record claim: cover letter",
        "Log book",
        "Witness statement 2 of 2",
        "Timekeeper statement 2 of 2",
        "Guide and spotter declaration",
        "Video sync sheet",
    ):
        assert heading in text
    assert "2:13:47.1" in text


# ---- the log book ---------------------------------------------------------------------


def test_the_log_book_marks_every_gap_over_an_hour(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    reads = Reads(folder)
    # 70 minutes to 5 km, 10 km not read (no panel to clear it), 15 km 2:10 later.
    reads.race(101, segment_s={"5k": 70 * 60, "10k": 65 * 60, "15k": 65 * 60}, skip=("10k",))
    engine = Engine(folder)
    result = results(folder, reads.rows, engine)["101"]
    rendered = render_documents(documents_of(engine, result, [], GENERATED))
    html = rendered[NAMES[1]].decode("utf-8")
    assert check_page(html).problems == []
    rows = log_rows(html)
    assert_no_unmarked_gap(rows)
    kinds = [(r["kind"], r["elapsed"]) for r in rows]
    assert kinds[:3] == [("start", 0), ("witness", HOUR_MS), ("point", 70 * 60 * 1000)]
    assert ("not read", None) in kinds
    missed = next(r for r in rows if r["kind"] == "not read")
    assert "10k" in str(missed["text"]) and "MISSED_SPLIT" in str(missed["text"])
    assert [k for k, _ in kinds].count("witness") == 3  # at 1:00, 2:10 and 3:10


@pytest.fixture(scope="module")
def half(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return Engine(make_folder(tmp_path_factory.mktemp("half")))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=3 * HOUR_MS), min_size=1, max_size=4))
def test_no_timed_entries_are_over_an_hour_apart(half: Engine, segments: list[int]) -> None:
    race = half.races["half"]
    person = half.people["101"]
    gun = race.waves[0].gun_ms
    points = list(race.points[1:])[-len(segments) :]
    splits, elapsed = [], 0
    for point, segment in zip(points, segments, strict=False):
        elapsed += segment
        splits.append(Split(point.id, point.distance_m, gun + elapsed, elapsed, segment, None))
    finish = gun + elapsed if points[-1].distance_m == HALF_M else None
    result = Result(person, "FIN", gun, None, finish, None, None, splits, [])
    entries = log_book(result, race, half.event.timezone)
    timed = [e.elapsed_ms for e in entries if e.elapsed_ms is not None]
    assert all(b - a <= HOUR_MS for a, b in itertools.pairwise(timed))
    assert [e.point for e in entries if e.kind in ("start", "point", "not read")] == [
        "start",
        *(p.id for p in race.points[1:]),
    ]
    assert all(e.to_fill for e in entries if e.kind not in ("start", "point"))


# ---- guides, the course ---------------------------------------------------------------


def test_the_guide_declaration_names_the_spotters_and_their_facing(tmp_path: Path) -> None:
    spotter = {**track_person(9, "5K", role="spotter", guides="1"), "facing": "forwards"}
    people = [track_person(1, "5K"), spotter]
    folder = load_folder(write_folder(tmp_path, people, event_toml(), [*HEADER, "facing"]))
    track = Track()
    for i in range(13):
        track.cross(1, gun(folder, "5K") + (65 + 130 * i) * SECOND)
        track.cross(9, gun(folder, "5K") + (66 + 130 * i) * SECOND)
    engine = Engine(folder)
    engine.add_reads(track.rows)
    result = next(r for rr in engine.results().races for r in rr.results if r.bib == "1")
    rendered = render_documents(documents_of(engine, result, [], GENERATED))
    html = rendered[NAMES[4]].decode("utf-8")
    assert check_page(html).problems == []
    assert "Runner9 Track" in html and "forwards" in html and "F0009 B0009" in html


def _half_with(tmp_path: Path, race_keys: str) -> Path:
    """The validation half marathon with `race_keys` added to its [[races]] table."""
    make_folder(tmp_path)
    toml = tmp_path / "event.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace('cutoff = "4:00:00"\n', f'cutoff = "4:00:00"\n{race_keys}'))
    return tmp_path


def test_the_course_sanction_and_certificate_come_from_event_toml(tmp_path: Path) -> None:
    course = (
        'sanctioning_body = "UK Athletics"\nsanction = "Permit 2026-118"\n'
        'certified_by = "AIMS"\ncertificate = "GBR 2025/041"\n'
    )
    folder = load_folder(_half_with(tmp_path, course))
    reads = Reads(folder)
    reads.race(101)
    engine = Engine(folder)
    result = results(folder, reads.rows, engine)["101"]
    rendered = render_documents(documents_of(engine, result, [], GENERATED))
    cover = rendered[NAMES[0]].decode("utf-8")
    for text in ("UK Athletics", "Permit 2026-118", "AIMS", "GBR 2025/041"):
        assert f"<dd>{text}</dd>" in cover
    assert 'Certificate valid until</dt><dd class="fill">' in cover


def test_a_bad_course_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FolderError) as refused:
        load_folder(_half_with(tmp_path, 'certifcate = "x"\n'))
    assert "did you mean certificate" in str(refused.value)
