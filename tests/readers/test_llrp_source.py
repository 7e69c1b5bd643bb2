"""LLRP over real TCP on loopback: the source and the agent against an LLRP peer that
speaks the binary protocol (readers/llrp_emulator.py, llrpkit's message encoding),
including connections dropped mid-race."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from llrpkit.protocol import decode_message, messages

from readers.formats import get_format, open_session
from readers.formats.llrp import TagReport, report_line
from readers.llrp_client import LlrpSettings, rospec
from readers.llrp_emulator import LlrpReaderEmulator
from readers.llrp_source import LlrpSource
from readers.read import FormatContext, ParseError, Read
from readers.simulator import simulate, stream_live
from readers.simulator.demo import demo_course
from tests.readers.serial_helpers import wait_until
from tests.readers.sim_courses import RECORDS
from tests.readers.test_agent import ROOT, TOKEN, agent_running, journal_rows
from tests.readers.uplink_server import UplinkServer

pytestmark = pytest.mark.timeout(120)

FAST = "keepalive_ms=500"
BASE_US = 1_780_000_000_000_000


def tags(n: int, antennas: tuple[int, ...] = (1, 2), start: int = 0) -> list[TagReport]:
    return [
        TagReport(bytes.fromhex(f"e20000170108{i:012x}"), antennas[i % len(antennas)],
                  -40 - (i % 40) / 4, BASE_US + i * 1_237)
        for i in range(start, start + n)
    ]  # fmt: skip


class Collected:
    def __init__(self) -> None:
        self.reads: list[tuple[Read, str]] = []
        self.quarantined: list[tuple[str, str]] = []

    def raw(self) -> list[str]:
        return [raw for _, raw in self.reads]


@contextmanager
def source_on(url: str, **kw: object) -> Iterator[tuple[LlrpSource, Collected]]:
    got = Collected()
    session = open_session(get_format("llrp"), FormatContext("FIN", ZoneInfo("UTC")))
    src = LlrpSource(url, session, lambda r, raw: got.reads.append((r, raw)),
                     lambda why, raw: got.quarantined.append((why, raw)),
                     min_backoff=0.05, max_backoff=0.2, **kw)  # type: ignore[arg-type]  # fmt: skip
    src.start()
    try:
        yield src, got
    finally:
        assert src.stop(5.0), "source did not stop"


def running(src: LlrpSource) -> bool:
    return src.client is not None and src.client.state == "running" and src.stats.connected


def test_reset_to_a_known_state_and_inventory_only_the_points_antennas() -> None:
    with LlrpReaderEmulator() as emu:
        # Another program left its own ROSpec running on the reader.
        foreign = rospec(LlrpSettings(antennas=(3,)), True)
        with socket.create_connection((emu.host, emu.port), 5) as peer:
            peer.recv(65536)  # the connection event
            for i, msg in enumerate([messages.ADD_ROSPEC(ro_spec=foreign),
                                     messages.ENABLE_ROSPEC(ro_spec_id=foreign.ro_spec_id)]):
                peer.sendall(msg.to_bytes(message_id=i + 1))
                assert decode_message(peer.recv(65536)).llrp_status.status_code == 0
        wait_until(lambda: emu.connections == 1 and emu._client is None)
        assert emu.inventorying()
        with source_on(f"{emu.url}?antennas=1,2&{FAST}") as (src, got):
            wait_until(lambda: running(src))
            assert not src.client.resumed  # type: ignore[union-attr]
            assert list(emu._rospecs) == [rospec(src.llrp, True).ro_spec_id]
            for tag in tags(10, antennas=(1, 2, 3)):
                emu.report(tag)
            wait_until(lambda: len(got.reads) == 7)
            time.sleep(1.2)  # keepalives flow and are answered
        assert emu.idle == 3  # antenna 3 is no longer inventoried: nothing read there
        assert emu.keepalive_acks >= 1
        read, raw = got.reads[0]
        assert raw == "e20000170108000000000000,1,-40,1780000000000000"
        assert read == Read("FIN", "e20000170108000000000000", 1, 1_780_000_000_000, -40.0)


def test_dropped_connections_mid_race_lose_and_double_nothing() -> None:
    sent = tags(3000)
    with LlrpReaderEmulator() as emu, source_on(f"{emu.url}?{FAST}") as (src, got):
        wait_until(lambda: running(src))

        drops = []

        def race() -> None:
            for i, tag in enumerate(sent):
                emu.report(tag)
                if i % 500 == 250:  # a cable pulled mid-race, once the reader is back
                    wait_until(lambda: emu.connections == len(drops) + 1 and running(src))
                    drops.append(emu.drop_connection())
                if i % 50 == 0:
                    time.sleep(0.005)

        feeder = threading.Thread(target=race)
        feeder.start()
        feeder.join(30)
        wait_until(lambda: len(got.reads) >= len(sent), timeout=30)
        time.sleep(0.3)  # time for a double to show
        wait_until(lambda: running(src))
        assert src.client is not None and src.client.resumed
        assert drops == [True] * 6
        assert emu.connections == 7 == src.stats.reconnects + 1
    assert got.raw() == [report_line(t) for t in sent]  # each once, in order
    assert got.quarantined == [] and emu.idle == 0 and emu.pending() == 0


def test_the_reader_buffers_while_no_client_is_connected() -> None:
    with LlrpReaderEmulator() as emu:
        with source_on(f"{emu.url}?{FAST}") as (src, first):
            wait_until(lambda: running(src))
            for tag in tags(5):
                emu.report(tag)
            wait_until(lambda: len(first.reads) == 5)
        # The agent stopped (CLOSE_CONNECTION): the reader goes on reading and holds them.
        assert emu.inventorying()
        for tag in tags(5, start=5):
            emu.report(tag)
        assert emu.pending() == 5
        with source_on(f"{emu.url}?{FAST}") as (src, second):
            wait_until(lambda: len(second.reads) == 5)  # released first, before the set-up
            wait_until(lambda: running(src))
            assert src.client is not None and src.client.resumed
    assert first.raw() + second.raw() == [report_line(t) for t in tags(10)]


def test_a_silent_link_is_noticed_by_keepalives_and_reopened() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(10)
        port = server.getsockname()[1]
        with source_on(f"tcp://127.0.0.1:{port}?{FAST}") as (src, _):
            conn, _ = server.accept()  # a reader that accepts and then says nothing
            wait_until(lambda: src.stats.last_error is not None, timeout=5)
            assert "no message from the reader for" in src.stats.last_error  # type: ignore[operator]
            again, _ = server.accept()  # it reconnects
            conn.close()
            again.close()


def test_a_second_client_is_refused_and_retries() -> None:
    with LlrpReaderEmulator() as emu, source_on(f"{emu.url}?{FAST}") as (src, _):
        wait_until(lambda: running(src))
        with source_on(f"{emu.url}?{FAST}") as (other, _):
            wait_until(lambda: other.stats.last_error is not None)
            assert "refused the connection" in other.stats.last_error  # type: ignore[operator]
            assert not running(other) and emu.refused >= 1
        assert running(src)


def test_the_agent_journals_each_report_once_across_a_dropped_reader_link(
    tmp_path: Path,
) -> None:
    from readers.agent import AgentConfig

    server = UplinkServer(tmp_path / "server.db", {"FIN": TOKEN}).start()
    sent = tags(400)
    with LlrpReaderEmulator() as emu:
        config = AgentConfig("FIN", f"{emu.url}?antennas=1,2&{FAST}", "llrp", server.url, TOKEN,
                             tmp_path / "agent.db", "Europe/London", min_backoff_s=0.05,
                             max_backoff_s=0.2)  # fmt: skip
        with agent_running(config) as (agent, errors):
            wait_until(emu.inventorying)
            for i, tag in enumerate(sent):
                emu.report(tag)
                if i in (100, 250):  # reports flow on while the agent reconnects
                    wait_until(lambda n=i: emu.connections == (1 if n == 100 else 2))
                    emu.drop_connection()
            wait_until(lambda: len(server.stored("FIN")) == len(sent), timeout=30)
            wait_until(lambda: agent.health()["backlog"] == 0)
            assert agent.health()["source_reconnects"] >= 2
        server.stop()
        assert errors == []
    lines = [report_line(t) for t in sent]
    assert [raw for *_, raw in server.stored("FIN")] == lines
    assert [raw for _, raw, _ in journal_rows(config.journal_path)] == lines
    assert [chip for _, _, chip, _ in server.stored("FIN")] == [t.epc.hex() for t in sent]


def test_simulate_live_serves_the_reads_as_an_llrp_reader() -> None:
    sim = simulate(demo_course(seed=2, runners=20, formats={"K10": "llrp"}, records=RECORDS), 2)
    want = [line for line in sim.lines("K10") if _is_read(line)]  # line noise has no frame
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    url = f"tcp://127.0.0.1:{port}"
    with source_on(f"{url}?{FAST}") as (_, got):
        # The first line is due 1.5 s from now: time for the agent to set the reader up.
        stats = stream_live(sim, "K10", url, speed=400_000.0,
                            started_at=time.monotonic() + 1.5)  # fmt: skip
        wait_until(lambda: len(got.reads) >= sim.read_count("K10"))
    assert got.raw() == want
    assert len(got.reads) == sim.read_count("K10") and stats.lines_dropped == 0
    assert {read.antenna for read, _ in got.reads} == {1, 2, 3, 4, 5}


def _is_read(line: str) -> bool:
    try:
        get_format("llrp").parse(line, FormatContext("K10", ZoneInfo("UTC")))
    except ParseError:
        return False
    return True


def test_retrotime_agent_sets_up_the_antennas_of_the_event_points(tmp_path: Path) -> None:
    from tests.timing.builders import EVENT_TOML, write_folder

    server = UplinkServer(tmp_path / "server.db", {"MID": TOKEN}).start()
    with LlrpReaderEmulator() as emu:
        mid = 'id = "MID"\nformat = "retrotime-csv"\nport = "/dev/null"'
        toml = EVENT_TOML.replace(mid, f'id = "MID"\nformat = "llrp"\nport = "{emu.url}"')
        folder = write_folder(tmp_path / "event", toml=toml)
        cmd = [sys.executable, "-m", "web.cli", "agent", "--reader", "MID", "--event",
               str(folder), "--server", server.url, "--token", TOKEN,
               "--journal", str(tmp_path / "mid.db")]  # fmt: skip
        with (tmp_path / "agent.log").open("wb") as log:
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until(emu.inventorying, timeout=30)
            (spec, _), = emu._rospecs.values()
            assert spec.spec_parameters[0].antenna_ids == [1, 2, 3]  # the 10k gate and panel
            for tag in tags(30, antennas=(1, 2, 3, 4)):
                emu.report(tag)
            wait_until(lambda: len(server.stored("MID")) == 23, timeout=30)
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(20) == 0, (tmp_path / "agent.log").read_text()
            server.stop()
    assert emu.idle == 7  # antenna 4 is not used by any point: not inventoried
    assert {chip for _, _, chip, _ in server.stored("MID")} == {
        t.epc.hex() for t in tags(30, antennas=(1, 2, 3, 4)) if t.antenna != 4
    }
