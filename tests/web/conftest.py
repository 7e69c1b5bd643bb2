"""A live service on a small event, in process (Litestar's TestClient) or on a real port,
and browser pages against it."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient
from websockets.sync.client import connect

from tests.net import ServerThread
from tests.results.conftest import copy_journal
from tests.timing.builders import EVENT_TOML, person, write_folder
from timing.folder import EventFolder, load_folder
from web.app import create_app
from web.settings import Settings, hash_password

PASSWORD = "finish-line"
REDIS_URL = os.environ.get("RETROTIME_TEST_REDIS", "redis://127.0.0.1:6379/0")
TOKENS = {"START": "tok-start", "MID": "tok-mid", "FIN": "tok-fin"}


def make_settings(
    tmp_path: Path,
    people: list[dict[str, str]] | None = None,
    redis_url: str | None = None,
    database_url: str | None = None,
    toml: str = EVENT_TOML,
) -> Settings:
    folder = write_folder(tmp_path / "event", people, toml)
    return Settings(
        folder,
        database_url or f"sqlite:///{tmp_path / 'live.db'}",
        hash_password(PASSWORD),
        dict(TOKENS),
        redis_url,
        publish_interval_s=0.05,
    )


def write_course_record(settings: Settings) -> None:
    """A women's course record of 2:40:00 for the half: a 2:35 finish breaks it."""
    (settings.event_dir / "records.csv").write_text(
        "scope,distance_m,sex,category,time,holder,nation,date,venue,source\n"
        "course,21097.5,F,,2:40:00,Old Holder,GBR,2025-04-13,Test,2025 results\n"
    )


def gun_ms(settings: Settings) -> int:
    return load_folder(settings.event_dir).event.races[0].waves[0].gun_ms


def shared_redis() -> str:
    """The shared test Redis's URL once it answers; skip if it does not (fail under CI).
    A function as well as the fixture below, for fixtures wider than one test."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL} (CI must start it)")
        pytest.skip("Redis is not reachable")
    return REDIS_URL


@pytest.fixture
def redis_url() -> str:
    """The shared test Redis (each event's journal has its own channel on it)."""
    return shared_redis()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    people = [person(101), person(102, "M"), person(103)]
    people[2] = {**people[2], "first_name": "<script>alert(1)</script>", "last_name": "\u202eRTL"}
    return make_settings(tmp_path, people)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def csrf(client: httpx.Client, page: str = "/director/login") -> str:
    """The CSRF token of a form page, for any client (a TestClient is an httpx.Client)."""
    html = client.get(page).text
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


def login(client: TestClient) -> None:
    """Log in as a director; later JSON API calls carry the CSRF header, as a script would."""
    response = client.post(
        "/director/login", data={"password": PASSWORD, "name": "Ana", "_csrf_token": csrf(client)}
    )
    assert response.status_code == 200 and "Director console" in response.text
    client.headers["x-csrftoken"] = client.cookies["csrftoken"]


def read(seq: int, chip: str, antenna: int, time_ms: int, rssi: float | None = -55.0) -> dict:
    return {
        "seq": seq,
        "chip": chip,
        "antenna": antenna,
        "time_ms": time_ms,
        "rssi": rssi,
        "reader_seq": None,
        "raw": f"line {seq}",
        "received_ms": time_ms,
    }


def hello(reader: str, token: str, journal: str = "j1") -> dict:
    return {
        "type": "hello",
        "protocol": 1,
        "reader": reader,
        "token": token,
        "agent_version": "test",
        "journal_id": journal,
        "acked_seq": 0,
        "last_seq": 0,
        "agent_time_ms": 0,
    }


# ---- the service on a real port, and browser pages against it ----------------------------

WAIT_MS = 10_000  # Playwright's bound on every wait and action


class Service:
    """`create_app(settings)` under uvicorn in a background thread, on 127.0.0.1."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.thread = ServerThread(self.app)
        self.port = self.thread.port
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.gun_ms = load_folder(settings.event_dir).event.races[0].waves[0].gun_ms
        self.journal = os.urandom(16).hex()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.thread.stop()

    def uplink(self, reader: str, reads: list[tuple[str, int, int]]) -> None:
        """Send (chip, antenna, ms after the gun) reads as one agent message; wait for the ack."""
        self.uplink_at(reader, [(chip, ant, self.gun_ms + after) for chip, ant, after in reads])

    def uplink_at(self, reader: str, reads: list[tuple[str, int, int]]) -> None:
        """Send (chip, antenna, epoch ms) reads as one agent message; wait for the ack."""
        send_reads(self.ws_url, reader, self.settings.tokens[reader], self.journal, reads)


def send_reads(
    ws_url: str, reader: str, token: str, journal: str, reads: list[tuple[str, int, int]]
) -> None:
    """One agent message of (chip, antenna, epoch ms) reads to the uplink at `ws_url`,
    numbered on from what the service holds of `journal`; wait for the ack."""
    with connect(f"{ws_url}/uplink", open_timeout=5, close_timeout=2) as ws:
        ws.send(json.dumps(hello(reader, token, journal)))
        welcome = json.loads(ws.recv(timeout=5))
        assert welcome["type"] == "welcome", welcome
        held = welcome["seq"]
        entries = [
            read(held + i, chip, antenna, at)
            for i, (chip, antenna, at) in enumerate(reads, start=1)
        ]
        ws.send(json.dumps({"type": "reads", "reads": entries}))
        ack = json.loads(ws.recv(timeout=5))
        assert ack == {**ack, "type": "ack", "seq": held + len(entries)}, ack


@contextmanager
def running(settings: Settings) -> Iterator[Service]:
    svc = Service(settings)
    svc.start()
    try:
        yield svc
    finally:
        svc.stop()


@pytest.fixture
def new_page(browser) -> Iterator[Callable[..., object]]:
    """Pages in fresh contexts (own cookies and storage), each recording JS dialogs and
    errors; `new_page(width, height, permissions=[...])` for a phone or granted rights."""
    contexts = []

    def make(width: int = 1280, height: int = 900, **options):
        context = browser.new_context(viewport={"width": width, "height": height}, **options)
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        page = context.new_page()
        page.dialogs = []
        page.errors = []

        def on_dialog(dialog) -> None:
            page.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        return page

    yield make
    for context in contexts:
        context.close()


# ---- the example event, half run: every runner seen up to 10 km ------------------------

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "riverside"
EXAMPLE_READERS = ("START", "K5", "K10", "K15", "FIN")


@pytest.fixture(scope="session")
def half_run_journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example's start, 5 km and 10 km logs journalled once: the race at 10 km."""
    from readers.formats import format_names
    from timing.store import Store
    from web.replay import replay

    here = tmp_path_factory.mktemp("half-run")
    path = here / "journal.db"
    store = Store(f"sqlite:///{path}")
    folder = load_folder(EXAMPLE, set(format_names()))
    half = folder.event.race("half")
    assert half is not None and half.cutoff_ms is not None
    # The marathon passes these mats again late in the day: its reads there would move
    # the event clock past the half's cutoff and close the half (everyone DNF).
    before = min(w.gun_ms for w in half.waves) + half.cutoff_ms - 60_000
    logs = [(r, _log_until(folder, r, before, here)) for r in ("START", "K5", "K10")]
    replay(folder, store, logs)
    store.close()
    return path


def _log_until(folder: EventFolder, reader: str, before_ms: int, out: Path) -> Path:
    """A copy of the example's log of `reader` without the reads from `before_ms` on
    (every other line kept as it is)."""
    from readers.formats import get_format
    from readers.read import FormatContext, ParseError

    config = folder.event.readers[reader]
    fmt = get_format(config.format)
    ctx = FormatContext(reader, folder.event.timezone, folder.event.date, config.devices)
    kept = []
    for line in (EXAMPLE / "logs" / f"{reader}.log").read_bytes().splitlines(keepends=True):
        try:
            read = fmt.parse(line.decode("latin-1").rstrip("\r\n"), ctx)
        except ParseError:
            read = None
        if read is None or read.time_ms < before_ms:
            kept.append(line)
    path = out / f"{reader}.log"
    path.write_bytes(b"".join(kept))
    return path


def example_settings(journal: Path, tmp_path: Path) -> Settings:
    """The example event served live from a copy of `journal`."""
    return Settings(
        EXAMPLE,
        copy_journal(f"sqlite:///{journal}", tmp_path / "live.db"),
        hash_password(PASSWORD),
        {r: f"tok-{r.lower()}" for r in EXAMPLE_READERS},
        publish_interval_s=0.05,
    )
