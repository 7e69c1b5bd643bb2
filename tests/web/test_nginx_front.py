"""The live service behind a real nginx, configured as docs/live.md says ("A reverse proxy
or CDN in front"): the config block is read out of the docs, and only what a test must
change (the listen address instead of TLS, the ports, the cache folder) is replaced, so
the documented config is the one that runs here.

`retrotime serve EVENT --workers 1 --proxied` (the writer, and a fan-out worker on port
+ 1), with Redis and without it (the worker polls the journal), then nginx in front,
started as this test's own process with a private prefix. Everything below goes
through nginx: the agents' reads over /uplink, the spectators' pages, their websockets.

Without nginx these tests fail (`apt-get install nginx`; .ci/run installs it).
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from benchmarks.procs import (
    descendants,
    end_leftovers,
    free_port_pair,
    started_at,
    stop_process,
)
from tests.net import free_port
from tests.web.conftest import PASSWORD, csrf, shared_redis
from tests.web.test_browser import open_live, wait_row
from tests.web.test_fanout_faults import (
    ENV,
    UP_S,
    Event,
    all_at,
    assert_no_hole,
    health,
    last_number,
    new_event,
    spectators,
    start,
)
from tests.web.test_live_faults import Procs, serve_cmd, wait_until

pytestmark = pytest.mark.timeout(180)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "live.md"
SECTION = "## A reverse proxy or CDN in front"
TEMP_KINDS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


# ---- nginx, configured from the docs -----------------------------------------------


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None
    )
    if found is None:
        pytest.fail("nginx is not installed: apt-get install -y nginx (.ci/run installs it)")
    return found


def documented_config() -> str:
    """The nginx block of docs/live.md's reverse-proxy section, as written."""
    section = DOCS.read_text().split(SECTION, 1)
    assert len(section) == 2, f"docs/live.md has no section {SECTION!r}"
    block = re.search(r"```nginx\n(.*?)```", section[1], re.DOTALL)
    assert block, f"no ```nginx block under {SECTION!r} in docs/live.md"
    return block.group(1)


def replaced(config: str, changes: dict[str, str]) -> str:
    for old, new in changes.items():
        assert config.count(old) == 1, f"docs/live.md's nginx config: {old!r} not there once"
        config = config.replace(old, new)
    return config


def nginx_conf(prefix: Path, port: int, writer: int, fanout: int) -> str:
    """A whole nginx.conf: the docs' block inside `http {}` (where Debian's conf.d files
    go), listening on 127.0.0.1:`port` in plain HTTP, every file under `prefix`."""
    site = replaced(
        documented_config(),
        {
            "listen 443 ssl http2;": f"listen 127.0.0.1:{port};",  # no TLS in a test
            "ssl_certificate     /etc/letsencrypt/live/live.example.org/fullchain.pem;": "",
            "ssl_certificate_key /etc/letsencrypt/live/live.example.org/privkey.pem;": "",
            "/var/cache/retrotime": str(prefix / "cache"),
            "127.0.0.1:8000": f"127.0.0.1:{writer}",
            "127.0.0.1:8001": f"127.0.0.1:{fanout}",
        },
    )
    temps = "\n".join(f"    {kind}_temp_path {prefix / kind};" for kind in TEMP_KINDS)
    # As root, nginx runs its workers as `user` (nobody by default, who could not enter
    # pytest's private temp folders); as anyone else the directive is ignored.
    user = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    return (
        f"user {user} {group};\nworker_processes 1;\npid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} info;\nevents {{ worker_connections 512; }}\n"
        f"http {{\n    access_log {prefix / 'access.log'};\n{temps}\n{site}\n}}\n"
    )


def stop_tree(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM a process and wait; then end whatever it started that is still running."""
    below = {pid: started_at(pid) for pid in descendants(proc.pid) if pid != proc.pid}
    stop_process(proc)
    end_leftovers(below)


def start_nginx(procs: Procs, prefix: Path, port: int, writer: int) -> subprocess.Popen[bytes]:
    prefix.mkdir()
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_conf(prefix, port, writer, writer + 1))
    cmd = [nginx_binary(), "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    checked = subprocess.run([*cmd, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, f"nginx -t refused the docs' config:\n{checked.stderr}"
    proc = procs.start("nginx", [*cmd, "-g", "daemon off;"], ENV)
    deadline = time.monotonic() + UP_S
    while proc.poll() is None and not answers(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    if proc.poll() is not None or not answers(port):
        log = (prefix / "error.log").read_text() if (prefix / "error.log").exists() else ""
        raise AssertionError(f"nginx not answering within {UP_S} s:\n{log}")
    return proc


def answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/api/event", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


# ---- the service behind it ---------------------------------------------------------


@dataclass
class Front:
    event: Event
    port: int  # nginx's: the only one the tests below talk to

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start_runners(self, count: int = 1) -> int:
        """Runners over the start mat, their reads sent to nginx's /uplink as an agent
        sends them; the writer's update number for them."""
        return self.event.start_runners(self.port, count)


@pytest.fixture(scope="module", params=["redis", "polling"])
def front(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Front]:
    nginx_binary()  # fails first, with a clear message, on a machine without nginx
    redis_url = shared_redis() if request.param == "redis" else None
    tmp = tmp_path_factory.mktemp(f"front-{request.param}")
    event = new_event(tmp)
    writer, port = free_port_pair(), free_port()
    procs = Procs(tmp)
    serve_args = ["--workers", "1", "--proxied", *(["--redis-url", redis_url] if redis_url else [])]
    started: list[subprocess.Popen[bytes]] = []
    try:
        cmd = [*serve_cmd(event.folder, writer, event.tokens, event.journal), *serve_args]
        started.append(start(procs, "serve", cmd, writer))
        wait_until(lambda: health(writer + 1) is not None, UP_S, "the fan-out worker answering")
        started.append(start_nginx(procs, tmp / "nginx", port, writer))
        yield Front(event, port)
    finally:
        for proc in reversed(started):
            stop_tree(proc)
        procs.kill_all()


def cache_status(response: httpx.Response) -> str:
    status = response.headers.get("x-cache-status")
    assert status is not None, "nginx sent no X-Cache-Status (docs/live.md's add_header)"
    return status


def from_address(front: Front, address: str) -> httpx.Client:
    """A browser on another loopback address (all of 127/8 is this machine's)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=front.url, timeout=10, transport=transport)


def log_in(client: httpx.Client, password: str = PASSWORD) -> httpx.Response:
    """The login form posted as a browser posts it (its CSRF token and cookie)."""
    form = {"password": password, "name": "Ana", "_csrf_token": csrf(client)}
    answer = client.post("/director/login", data=form, follow_redirects=True)
    if password == PASSWORD and answer.status_code == 200:
        assert "Director console" in answer.text
    return answer


# ---- the tests ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/races/half", "/api/races/half"])
def test_a_spectator_page_is_revalidated_and_kept_a_second(front: Front, path: str) -> None:
    with httpx.Client(base_url=front.url, timeout=10) as phone:
        first = phone.get(path)
        assert first.status_code == 200, first.status_code
        assert "set-cookie" not in first.headers
        for _ in range(3):  # the ETag moves on every 5 s: one try may straddle that
            etag = phone.get(path).headers["etag"]
            again = phone.get(path, headers={"If-None-Match": etag})
            if again.status_code == 304 or again.headers.get("etag") == etag:
                break
        assert again.status_code == 304, (again.status_code, etag, again.headers.get("etag"))
        assert again.content == b""

        for _ in range(5):  # a second one within the second is served by nginx
            started = time.monotonic()
            phone.get(path)
            second = phone.get(path)
            if time.monotonic() - started < 1.0:
                break
        assert cache_status(second) == "HIT", second.headers
        assert second.headers["etag"] and second.status_code == 200

    # One kept copy, whatever the phone takes: gzip for one, plain for another.
    with httpx.Client(base_url=front.url, timeout=10) as plain:
        bare = plain.get(path, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in bare.headers
    assert bare.text.lstrip().lower().startswith("<!doctype" if path == "/races/half" else "{")
    if path.startswith("/api/"):
        assert any(r["bib"] for r in json.loads(bare.text)["rows"])


def test_director_pages_are_never_served_from_the_cache(front: Front) -> None:
    with httpx.Client(base_url=front.url, timeout=10) as director:
        logins = [director.get("/director/login") for _ in range(2)]
        assert "set-cookie" in logins[0].headers  # the CSRF cookie
        for page in logins:
            assert page.status_code == 200 and cache_status(page) != "HIT"
        assert log_in(director).status_code == 200
        for _ in range(2):
            again = director.get("/director")
            assert "Director console" in again.text and cache_status(again) != "HIT"

    # A phone right after: the console it was just sent to the director is not its.
    with httpx.Client(base_url=front.url, timeout=10) as stranger:
        seen = stranger.get("/director")
        assert seen.status_code in (302, 303, 307), seen.status_code
        assert "Director console" not in seen.text
        assert seen.headers["location"].endswith("/director/login")


def test_a_spectator_through_nginx_gets_every_numbered_update(front: Front) -> None:
    with spectators(front.ws_url) as (phone,):
        wait_until(lambda: bool(phone.seen), UP_S, "the snapshot through nginx")
        for _ in range(3):
            seq = front.start_runners()
        all_at([phone], seq, "the updates through nginx")
        assert_no_hole(phone)
        assert phone.connections == 1  # nginx kept the websocket open

        # A phone coming back with the last number it saw: the next ones, in order.
        since = last_number(front.event.journal)
        all_at([phone], since, "the worker at the last update")
        with connect(f"{front.ws_url}/ws/races/half?since={since}", open_timeout=5) as back:
            got = []
            for _ in range(2):
                front.start_runners()
                message = json.loads(back.recv(timeout=15))
                got.append((message["type"], message["seq"]))
        assert got == [("update", since + 1), ("update", since + 2)], got


def test_the_page_opens_live_updates_on_nginx_itself(front: Front, new_page) -> None:
    body = httpx.get(f"{front.url}/races/half", timeout=10).text
    tag = re.search(r"<body[^>]*>", body)
    assert tag and "data-live-port" not in tag.group(0), tag  # live.js: its own origin

    page = new_page()
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    open_live(page, f"{front.url}/races/half")
    front.start_runners()
    wait_row(page, str(front.event.next_bib - 1), "RUN")  # moved on by a live update
    assert sockets and all(url.startswith(f"{front.ws_url}/ws/races/half") for url in sockets), (
        sockets
    )
    assert page.errors == [] and page.dialogs == []


def test_a_guesser_behind_nginx_holds_only_itself(front: Front) -> None:
    """The service sees each client's own address through nginx: a stranger's wrong
    passwords hold the stranger, not the director's laptop, and the audit names the
    stranger's address, not the proxy's."""
    with from_address(front, "127.0.0.2") as laptop, from_address(front, "127.0.0.3") as guesser:
        assert log_in(laptop).status_code == 200
        tries = [log_in(guesser, "not-the-password").status_code for _ in range(6)]
        assert tries == [401] * 5 + [429], tries  # the client limit: 5 a minute
        assert log_in(laptop).status_code == 200, "the laptop was held by the guesser's tries"
        refused = laptop.get("/api/director/logins").json()["latest"]
    assert {r["client"] for r in refused} == {"127.0.0.3"}, refused
