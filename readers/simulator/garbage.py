"""Line noise in a reader's log: a few lines per thousand that are not reads.

Serial links drop and corrupt bytes: a line cut off, two lines run together when a
terminator is lost, a burst of static. Every garbage line is checked against the
reader's format and kept only if the format rejects it (`ParseError`), so it tests
the quarantine path, never the parser's luck.
"""

from __future__ import annotations

import math
import random
import string
from collections.abc import Callable

from readers.formats import ReaderFormat
from readers.read import FormatContext, ParseError

GARBAGE_RATE = 0.003
_NOISE_CHARS = string.ascii_letters + string.digits + "~#@!?*%&^|<>[]{}:;,."


def place_garbage(
    rng: random.Random,
    n_reads: int,
    rate: float,
    line_at: Callable[[int], str],
    fmt: ReaderFormat,
    ctx: FormatContext,
) -> list[tuple[int, str]]:
    """[(index of the read the garbage line precedes (n_reads: at the end), text)]."""
    if rate <= 0.0 or n_reads == 0:
        return []
    log_keep = math.log(1.0 - min(rate, 0.5))
    out = []
    pos = int(math.log(1.0 - rng.random()) / log_keep)  # geometric gaps: one draw per line
    while pos <= n_reads:
        text = garbage_text(rng, fmt, ctx, line_at(min(pos, n_reads - 1)))
        if text is not None:
            out.append((pos, text))
        pos += 1 + int(math.log(1.0 - rng.random()) / log_keep)
    return out


def garbage_text(
    rng: random.Random, fmt: ReaderFormat, ctx: FormatContext, line: str
) -> str | None:
    """A corrupted version of `line`, or static; None if the format accepted every try."""
    for _ in range(6):
        kind = rng.random()
        if kind < 0.4 and len(line) > 4:
            text = line[: rng.randrange(2, len(line) - 1)]  # cut off
        elif kind < 0.7 and len(line) > 4:
            text = line[: rng.randrange(2, len(line) - 1)] + line  # terminator lost
        else:
            text = "".join(rng.choice(_NOISE_CHARS) for _ in range(rng.randint(3, 40)))
        try:
            fmt.parse(text, ctx)
        except ParseError:
            return text
    return None
