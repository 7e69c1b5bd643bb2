"""The evidence pack of one bib: everything a record official needs to check a result.

    summary.html        a short human-readable account (result, splits, reads per point,
                        flags, decisions), self-contained
    result.json         the participant, the race and the result (results JSON contract)
    splits.csv          the split table
    reads.csv           every raw read of the bib's chips, at every point and elsewhere,
                        with the reader's time, the corrected time and the raw line
    raw/<reader>.log    the raw lines as the reader sent them (bytes as journalled)
    crossings.csv       the crossings made from those reads, and the passing each made
    passings.csv        the passings: crossings bound to the race's points
    flags.json          the validation verdicts with their evidence and decisions
    clock_offsets.json  the clock correction of every reader
    decisions.json      the director's audit log entries that concern the bib
    records.json        the record lines of the result and the record book it ran against
                        (every mark at the race's distance, with its status and body)
    config/event.toml   the event configuration as used (and records.csv, if any)
    documents/          the printable documents of a record claim (cover letter, log
                        book, witness and timekeeper statements, guide declaration,
                        video sync sheet: `results/evidence_forms.py`), one HTML each,
                        and all of them in documents.pdf where WeasyPrint can run
    SHA256SUMS          SHA-256 of every other file (`sha256sum -c SHA256SUMS`)

Deterministic: the same journal and `generated_at` give a byte-identical zip.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from results.errors import ResultsError
from results.evidence_forms import documents_of
from results.evidence_print import PDF, documents_pdf, pdf_available, render_documents
from results.evidence_summary import action_json, render_summary, summary_of
from results.exports import json_bytes
from results.format import slug
from timing.config import Race
from timing.engine import Engine
from timing.records import same_distance
from timing.report import claim_json, flag_json, result_json
from timing.store import DirectorAction, RawRead, Store
from timing.times import format_duration, iso_local

SUMS = "SHA256SUMS"


def point_roles(race: Race) -> dict[tuple[str, int], list[str]]:
    """(reader, antenna) to the points and roles it serves in the race, e.g. `10k/upstream`."""
    roles: dict[tuple[str, int], list[str]] = {}
    for point in race.points:
        groups = dict(point.lines())
        if point.oncoming:
            groups["oncoming"] = point.oncoming
        for role, antennas in groups.items():
            for antenna in antennas:
                roles.setdefault((point.reader, antenna), []).append(f"{point.id}/{role}")
    return roles


def evidence_files(
    engine: Engine, store: Store, bib: str, generated_at: datetime
) -> dict[str, bytes]:
    """The files of the pack (without SHA256SUMS), by name."""
    person = engine.person(bib)
    if person is None:
        raise ResultsError(f"no participant with bib {bib!r}")
    results = engine.results()
    race = engine.race(person.race)
    result = next(r for rr in results.races for r in rr.results if r.bib == bib)
    tz = engine.event.timezone
    side = {person.chip_front: "front"}
    if person.chip_back:
        side[person.chip_back] = "back"
    reads = store.reads_of_chips(person.chips)
    roles = point_roles(race)
    offsets = engine.offsets
    crossings = [c for chip in person.chips for c in engine.chip_crossings(chip)]
    bound = {c: p.point for p in result.passings for c in p.crossings}
    actions = [a for a in store.actions() if concerns(a, bib, person.chips, race.id, person.wave)]
    folder_path = engine.folder.path

    files: dict[str, bytes] = {}
    files["result.json"] = json_bytes(
        {
            "event": engine.event.name,
            "date": engine.event.date.isoformat(),
            "generated_at": generated_at.isoformat(timespec="seconds"),
            "race": {"id": race.id, "name": race.name, "distance_m": race.distance_m},
            "participant": participant_json(person),
            "result": result_json(result, tz),
        }
    )
    files["splits.csv"] = _csv(
        ["point", "distance_m", "chip_time", "segment_time", "pace_min_per_km", "manual", "at"],
        [
            [
                s.point,
                f"{s.distance_m:g}",
                format_duration(s.chip_time_ms),
                format_duration(s.segment_time_ms),
                "" if s.pace_min_per_km is None else f"{s.pace_min_per_km:g}",
                "yes" if s.manual else "",
                iso_local(s.time_ms, tz),
            ]
            for s in result.splits
        ],
    )
    files["reads.csv"] = _csv(
        [
            "id",
            "reader",
            "source",
            "seq",
            "antenna",
            "points",
            "chip",
            "chip_side",
            "reader_time",
            "clock_offset_s",
            "corrected_time",
            "rssi",
            "reader_seq",
            "received",
            "raw_line",
        ],
        [read_row(r, side, roles, offsets, tz) for r in reads],
    )
    for reader, lines in _raw_lines(reads).items():
        files[f"raw/{slug(reader)}.log"] = lines
    files["crossings.csv"] = _csv(
        [
            "chip",
            "chip_side",
            "reader",
            "antennas",
            "points",
            "time",
            "first_read",
            "last_read",
            "reads",
            "peak_rssi",
            "passing",
            "read_ids",
        ],
        [
            [
                c.chip,
                side.get(c.chip, ""),
                c.line[0],
                " ".join(str(a) for a in c.line[1]),
                " ".join(sorted({x for a in c.line[1] for x in roles.get((c.line[0], a), [])})),
                iso_local(c.time_ms, tz),
                iso_local(c.first_ms, tz),
                iso_local(c.last_ms, tz),
                str(c.reads),
                "" if c.peak_rssi is None else f"{c.peak_rssi:g}",
                bound.get(c, ""),
                " ".join(str(i) for i in c.read_ids),
            ]
            for c in sorted(crossings, key=lambda c: (c.time_ms, c.chip, c.line))
        ],
    )
    files["passings.csv"] = _csv(
        ["point", "index", "time", "crossings", "chips", "manual"],
        [
            [
                p.point,
                str(p.index),
                iso_local(p.time_ms, tz),
                str(len(p.crossings)),
                " ".join(sorted({side.get(c.chip, c.chip) for c in p.crossings if not c.manual})),
                "yes" if p.manual else "",
            ]
            for p in result.passings
        ],
    )
    flags = [flag_json(f, tz) for f in result.flags]
    files["flags.json"] = json_bytes({"bib": bib, "flags": flags})
    files["clock_offsets.json"] = json_bytes(
        {
            "note": "added to each reader's times to correct its clock",
            "readers": {
                rid: {
                    "clock_offset_s": reader.clock_offset_s,
                    "reads_of_this_bib": sum(1 for r in reads if r.reader_id == rid),
                }
                for rid, reader in sorted(engine.event.readers.items())
            },
        }
    )
    files["decisions.json"] = json_bytes({"bib": bib, "actions": [action_json(a) for a in actions]})
    book = [r for r in engine.book.records if same_distance(r.distance_m, race.distance_m)]
    files["records.json"] = json_bytes(
        {
            "result_records": [claim_json(c) for c in result.records],
            "record_book": [
                asdict(r) | {"time": format_duration(r.time_ms), "date": _iso(r.date)} for r in book
            ],
        }
    )
    for name in ("event.toml", "records.csv"):
        if (folder_path / name).is_file():
            files[f"config/{name}"] = (folder_path / name).read_bytes()
    documents = render_documents(documents_of(engine, result, actions, generated_at))
    files.update(documents)
    if pdf_available() is None:
        files[PDF] = documents_pdf(documents)
    summary = summary_of(engine, result, race, reads, side, roles, actions, generated_at)
    files["summary.html"] = render_summary(summary, sorted(files))
    return files


def write_evidence(
    out: Path, engine: Engine, store: Store, bib: str, generated_at: datetime
) -> tuple[int, str]:
    """Write the zipped pack; return its size and SHA-256."""
    files = evidence_files(engine, store, bib, generated_at)
    files[SUMS] = sums(files)
    stamp = generated_at.astimezone(UTC).timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(f"evidence-{slug(bib)}/{name}", date_time=max(stamp, _Y1980))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    content = buffer.getvalue()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content)
    return len(content), hashlib.sha256(content).hexdigest()


_Y1980 = (1980, 1, 1, 0, 0, 0)


def sums(files: dict[str, bytes]) -> bytes:
    """`sha256sum` format: one `<hex>  <name>` line per file, sorted by name."""
    lines = [f"{hashlib.sha256(files[n]).hexdigest()}  {n}\n" for n in sorted(files) if n != SUMS]
    return "".join(lines).encode("utf-8")


def verify(archive: zipfile.ZipFile) -> list[str]:
    """Problems found checking a pack against its SHA256SUMS; empty when it verifies."""
    names = archive.namelist()
    prefix = names[0].split("/", 1)[0] + "/" if names else ""
    listed: dict[str, str] = {}
    for line in archive.read(prefix + SUMS).decode("utf-8").splitlines():
        digest, _, name = line.partition("  ")
        listed[name] = digest
    problems = []
    present = {n[len(prefix) :] for n in names} - {SUMS}
    for name in sorted(present - listed.keys()):
        problems.append(f"{name}: not in {SUMS}")
    for name, digest in sorted(listed.items()):
        if name not in present:
            problems.append(f"{name}: missing")
        elif hashlib.sha256(archive.read(prefix + name)).hexdigest() != digest:
            problems.append(f"{name}: SHA-256 differs")
    return problems


def concerns(
    action: DirectorAction, bib: str, chips: Iterable[str], race_id: str, wave_id: str
) -> bool:
    """Whether an audit-log entry bears on the bib: about it, its chips, or its wave's gun."""
    targets = {bib, *chips, f"{race_id}/{wave_id}", f"{race_id}:{wave_id}"}
    if action.target in targets:
        return True
    try:
        payload = json.loads(action.payload or "{}")
    except ValueError:
        return False
    if not isinstance(payload, dict):
        return False
    if str(payload.get("bib", "")) == bib:
        return True
    return action.kind == "gun" and (payload.get("race"), payload.get("wave")) == (
        race_id,
        wave_id,
    )


def participant_json(person: Any) -> dict[str, Any]:
    return {
        "bib": person.bib,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "sex": person.sex,
        "birth_date": _iso(person.birth_date),
        "age": person.age,
        "category": person.category,
        "race": person.race,
        "wave": person.wave,
        "chip_front": person.chip_front,
        "chip_back": person.chip_back,
        "club": person.club,
        "nation": person.nation,
    }


def read_row(
    r: RawRead,
    side: dict[str, str],
    roles: dict[tuple[str, int], list[str]],
    offsets: dict[str, int],
    tz: Any,
) -> list[str]:
    offset = offsets.get(r.reader_id, 0)
    return [
        str(r.id),
        r.reader_id,
        r.source,
        str(r.seq),
        str(r.antenna),
        " ".join(roles.get((r.reader_id, r.antenna), [])),
        r.chip,
        side.get(r.chip, ""),
        iso_local(r.time_ms, tz),
        f"{offset / 1000:g}",
        iso_local(r.time_ms + offset, tz),
        "" if r.rssi is None else f"{r.rssi:g}",
        "" if r.reader_seq is None else str(r.reader_seq),
        iso_local(r.received_ms, tz),
        r.raw_line,
    ]


def _raw_lines(reads: list[RawRead]) -> dict[str, bytes]:
    """Per reader, the raw lines in journal order, as bytes: logs are read as Latin-1,
    which maps each byte to one character, so encoding back gives the reader's bytes."""
    out: dict[str, list[bytes]] = {}
    for r in reads:
        try:
            line = r.raw_line.encode("latin-1")
        except UnicodeEncodeError:
            line = r.raw_line.encode("utf-8")
        out.setdefault(r.reader_id, []).append(line + b"\n")
    return {reader: b"".join(lines) for reader, lines in sorted(out.items())}


def _csv(header: list[str], rows: Iterable[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
