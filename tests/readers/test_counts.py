"""Every line accounted for: the counts a stream keeps add up to the lines it received."""

from __future__ import annotations

from readers.counts import QUARANTINED, READ, REPLY, LineCounts
from readers.formats import get_format, open_session
from readers.read import ParseError
from tests.readers.fuzz_lines import CONTEXTS, REAL_LINES


def test_a_session_stream_accounts_for_every_line() -> None:
    # A RACE RESULT stream as the KB id=19 quick start has it, plus a line that is
    # neither a passing nor a reply.
    lines = [*REAL_LINES["raceresult"][3:], REAL_LINES["raceresult"][0], "x;y", ""]
    session = open_session(get_format("raceresult"), CONTEXTS[1])
    counts = LineCounts()
    for line in lines:
        try:
            read, _ = session.feed(line)
        except ParseError:
            counts += QUARANTINED
            continue
        counts += READ if read is not None else REPLY
    assert counts == LineCounts(reads=1, replies=5, quarantined=1)
    assert counts.lines == len(lines)
    assert str(counts) == "7 lines = 1 reads + 5 replies/status + 1 quarantined"
