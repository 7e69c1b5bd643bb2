"""An LLRP reader on a TCP port, fed with tag reports: `retrotime simulate --live` and
the tests put it where an Impinj reader would be.

It speaks the binary protocol through `llrpkit.protocol` and keeps what a reader keeps
across connections: its ROSpecs, its configuration and a buffer of the reports made
while no client was connected, or while HoldEventsAndReportsUponReconnect holds them
until ENABLE_EVENTS_AND_REPORTS. One client at a time: a second is refused with a
ConnectionAttemptEvent, as a reader does. With link monitoring on, a client that leaves
three keepalives unanswered is dropped. `drop_connection()` cuts the link (no
ConnectionCloseEvent) for tests of a dropped connection mid-race.

A report is sent whole or kept: a send that fails puts it back at the head of the
buffer, so across any drop each report reaches a client once.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from zoneinfo import ZoneInfo

from llrpkit.exceptions import MessageDecodeError
from llrpkit.protocol import BitStr, LLRPMessage, decode_message, enums, impinj, messages, params

from readers.formats.llrp import Llrp, TagReport, parse_report
from readers.read import FormatContext, ParseError

log = logging.getLogger(__name__)

HEADER = 10
_POLL_S = 0.05
_SEND_TIMEOUT_S = 5.0
LLRP = Llrp()
_CTX = FormatContext("emulator", ZoneInfo("UTC"))


class LlrpReaderEmulator:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        antennas: int = 4,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.antennas = antennas
        self.clock = clock
        self._listener = socket.create_server((host, port))
        self._listener.settimeout(_POLL_S)
        self.host, self.port = self._listener.getsockname()[:2]
        self._lock = threading.RLock()  # state and the client socket's writes
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._client: socket.socket | None = None
        self._reset_state()
        self.connections = 0  # accepted client connections
        self.refused = 0  # connection attempts refused: a client was connected
        self.sent = 0  # tag reports delivered to clients
        self.idle = 0  # reports made while no ROSpec was active: not read, as on a reader
        self.keepalive_acks = 0

    def _reset_state(self) -> None:
        self._rospecs: dict[int, list] = {}  # id -> [ROSpec, state]
        self._keepalive_s = 0.0
        self._hold = False
        self._link_monitor = 0  # unanswered keepalives that drop the link; 0: off
        self._buffer: deque[bytes] = deque()
        self._enabled = False  # reports and events flow to the client

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> LlrpReaderEmulator:
        thread = threading.Thread(target=self._accept_loop, name="llrp emulator", daemon=True)
        self._threads.append(thread)
        thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.drop_connection()
        for thread in self._threads:
            thread.join(2.0)
        self._listener.close()

    def __enter__(self) -> LlrpReaderEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    # -- the reader's side --------------------------------------------------------------

    def report(self, tag: TagReport) -> None:
        """The RF front end saw a tag: report it now, or buffer it for a client."""
        with self._lock:
            if not self._inventorying(tag.antenna):
                self.idle += 1
                return
            self._buffer.append(report_frame(tag))
            self._flush()

    def pending(self) -> int:
        """Reports made and not yet delivered to a client."""
        with self._lock:
            return len(self._buffer)

    def inventorying(self) -> bool:
        with self._lock:
            return any(state == enums.ROSpecState.Active for _, state in self._rospecs.values())

    def drop_connection(self) -> bool:
        """Cut the link: the client sees the stream end, the reader keeps inventorying.
        False if no client was connected."""
        with self._lock:
            client, self._client, self._enabled = self._client, None, False
        if client is not None:
            # FIN after what was sent, never RST: a reset would make the client's kernel
            # discard reports it had received but not yet read. `_serve` closes it.
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_WR)
        return client is not None

    def _inventorying(self, antenna: int) -> bool:
        for spec, state in self._rospecs.values():
            if state == enums.ROSpecState.Active:
                ids = spec.spec_parameters[0].antenna_ids
                if 0 in ids or antenna in ids:
                    return True
        return False

    def _flush(self) -> None:
        while self._buffer and self._client is not None and self._enabled:
            frame = self._buffer[0]
            try:
                self._client.sendall(frame)
            except OSError:  # kept at the head: this client never got it whole
                self._lost(self._client)
                return
            self._buffer.popleft()
            self.sent += 1

    def _send(self, msg: LLRPMessage, message_id: int = 0) -> None:
        with self._lock:
            if self._client is not None:
                try:
                    self._client.sendall(msg.to_bytes(message_id=message_id))
                except OSError:
                    self._lost(self._client)

    def _lost(self, client: socket.socket) -> None:
        """A send failed: the link is gone; `_serve` sees it and closes the socket."""
        if self._client is client:
            self._client, self._enabled = None, False
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_WR)

    # -- connections --------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                busy = self._client is not None
                if not busy:
                    self._client, self.connections = conn, self.connections + 1
            if busy:
                self.refused += 1
                status = enums.ConnectionAttemptStatusType.Failed_A_Client_Initiated_Connection_Already_Exists  # noqa: E501
                with contextlib.suppress(OSError):
                    conn.sendall(_connection_event(status, self.clock()).to_bytes(message_id=0))
                conn.close()
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True,
                                      name="llrp emulator client")  # fmt: skip
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(_SEND_TIMEOUT_S)  # a client that takes nothing for this long is gone
        ok = enums.ConnectionAttemptStatusType.Success
        self._send(_connection_event(ok, self.clock()))
        with self._lock:
            if not self._hold:
                self._enabled = True
                self._flush()
        buf = bytearray()
        next_keepalive, unanswered = time.monotonic(), 0
        while not self._stop.is_set() and self._client is conn:
            now = time.monotonic()
            if self._keepalive_s and now >= next_keepalive:
                next_keepalive = now + self._keepalive_s
                if self._link_monitor and unanswered >= self._link_monitor:
                    log.info("emulator: %d keepalives unanswered, dropping the link", unanswered)
                    break
                unanswered += 1
                self._send(messages.KEEPALIVE(), message_id=0)
            try:
                if not select.select([conn], [], [], _POLL_S)[0]:
                    continue
                chunk = conn.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            while len(buf) >= HEADER and len(buf) >= int.from_bytes(buf[2:6], "big"):
                length = max(HEADER, int.from_bytes(buf[2:6], "big"))
                frame, buf[:length] = bytes(buf[:length]), b""
                try:
                    msg = decode_message(frame)
                except MessageDecodeError as exc:
                    log.warning("emulator: undecodable frame: %s", exc)
                    continue
                if isinstance(msg, messages.KEEPALIVE_ACK):
                    unanswered = 0
                    self.keepalive_acks += 1
                self._handle(msg)
        with self._lock:
            if self._client is conn:
                self._client, self._enabled = None, False
        _close_after_drain(conn)

    # -- messages -----------------------------------------------------------------------

    def _handle(self, msg: LLRPMessage) -> None:
        mid = msg.message_id
        with self._lock:
            answer = self._answer(msg)
            if answer is not None:
                self._send(answer, mid)
            self._flush()

    def _answer(self, msg: LLRPMessage) -> LLRPMessage | None:
        ok = params.LLRPStatus(status_code=enums.StatusCode.M_Success)
        if isinstance(msg, messages.KEEPALIVE_ACK):
            return None
        if isinstance(msg, messages.ENABLE_EVENTS_AND_REPORTS | messages.GET_REPORT):
            self._enabled = True
            return None
        if isinstance(msg, impinj.IMPINJ_ENABLE_EXTENSIONS):
            return impinj.IMPINJ_ENABLE_EXTENSIONS_RESPONSE(llrp_status=ok)
        if isinstance(msg, messages.SET_READER_CONFIG):
            self._configure(msg)
            return messages.SET_READER_CONFIG_RESPONSE(llrp_status=ok)
        if isinstance(msg, messages.GET_ROSPECS):
            specs = []
            for spec, state in self._rospecs.values():
                spec.current_state = state
                specs.append(spec)
            return messages.GET_ROSPECS_RESPONSE(llrp_status=ok, ro_specs=specs)
        if isinstance(msg, messages.ADD_ROSPEC):
            spec = msg.ro_spec
            if spec.ro_spec_id == 0 or spec.ro_spec_id in self._rospecs:
                return messages.ADD_ROSPEC_RESPONSE(llrp_status=_error("ROSpec id in use or 0"))
            self._rospecs[spec.ro_spec_id] = [spec, enums.ROSpecState.Disabled]
            return messages.ADD_ROSPEC_RESPONSE(llrp_status=ok)
        if isinstance(msg, messages.ENABLE_ROSPEC):
            status = self._set_state(msg.ro_spec_id, enable=True)
            return messages.ENABLE_ROSPEC_RESPONSE(llrp_status=status)
        if isinstance(msg, messages.DISABLE_ROSPEC):
            status = self._set_state(msg.ro_spec_id, enable=False)
            return messages.DISABLE_ROSPEC_RESPONSE(llrp_status=status)
        if isinstance(msg, messages.DELETE_ROSPEC):
            ids = list(self._rospecs) if msg.ro_spec_id == 0 else [msg.ro_spec_id]
            if not all(i in self._rospecs for i in ids):
                return messages.DELETE_ROSPEC_RESPONSE(llrp_status=_error("no such ROSpec"))
            for i in ids:
                del self._rospecs[i]
            return messages.DELETE_ROSPEC_RESPONSE(llrp_status=ok)
        if isinstance(msg, messages.DELETE_ACCESSSPEC):
            return messages.DELETE_ACCESSSPEC_RESPONSE(llrp_status=ok)
        if isinstance(msg, messages.CLOSE_CONNECTION):
            self._send(messages.CLOSE_CONNECTION_RESPONSE(llrp_status=ok), msg.message_id)
            if self._client is not None:
                self._lost(self._client)
            return None
        status = params.LLRPStatus(status_code=enums.StatusCode.M_UnsupportedMessage,
                                   error_description=f"{type(msg).__name__} is not emulated")
        return messages.ERROR_MESSAGE(llrp_status=status)  # fmt: skip

    def _configure(self, msg: messages.SET_READER_CONFIG) -> None:
        if msg.reset_to_factory_default:
            self._reset_state()
            self._enabled = True  # this connection goes on
        if msg.keepalive_spec is not None:
            ka = msg.keepalive_spec
            periodic = int(ka.keepalive_trigger_type) == enums.KeepaliveTriggerType.Periodic
            self._keepalive_s = ka.periodic_trigger_value / 1000 if periodic else 0.0
        if msg.events_and_reports is not None:
            self._hold = bool(msg.events_and_reports.hold_events_and_reports_upon_reconnect)
        for p in msg.custom:
            if isinstance(p, impinj.ImpinjLinkMonitorConfiguration):
                self._link_monitor = p.link_down_threshold if p.link_monitor_mode else 0

    def _set_state(self, spec_id: int, enable: bool) -> params.LLRPStatus:
        ids = list(self._rospecs) if spec_id == 0 else [spec_id]
        if not all(i in self._rospecs for i in ids):
            return _error(f"no ROSpec {spec_id}")
        for i in ids:
            spec = self._rospecs[i][0]
            immediate = int(spec.ro_boundary_spec.ro_spec_start_trigger.ro_spec_start_trigger_type)
            started = immediate == enums.ROSpecStartTriggerType.Immediate
            active = enums.ROSpecState.Active if started else enums.ROSpecState.Inactive
            self._rospecs[i][1] = active if enable else enums.ROSpecState.Disabled
        return params.LLRPStatus(status_code=enums.StatusCode.M_Success)


def serve_lines(url: str, pump: Callable[[Callable[[bytes], bool]], None],
                stop: threading.Event) -> None:
    """Be the LLRP reader at `url` (tcp://HOST:PORT) while `pump(write)` writes `llrp`
    lines, then until a client has taken every report made (or `stop`). Lines that are
    not reports (a simulator's line noise) have no frame on a binary link: skipped."""
    parts = url.removeprefix("tcp://").split("?")[0].rsplit(":", 1)
    host, port = parts[0], int(parts[1]) if len(parts) > 1 else 5084
    with LlrpReaderEmulator(host, port) as emu:

        def write(data: bytes) -> bool:
            for raw in data.splitlines():
                with contextlib.suppress(ParseError, UnicodeDecodeError):
                    line = raw.decode()
                    LLRP.parse(line, _CTX)  # line noise the format rejects has no frame
                    emu.report(parse_report(line))
            return True

        pump(write)
        while emu.pending() and not stop.wait(0.1):
            pass


def _close_after_drain(conn: socket.socket, limit_s: float = 2.0) -> None:
    """Read what the client still sends until it closes (bounded), then close."""
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_WR)
    deadline = time.monotonic() + limit_s
    with contextlib.suppress(OSError):
        while time.monotonic() < deadline:
            if select.select([conn], [], [], _POLL_S)[0] and not conn.recv(65536):
                break
    conn.close()


def _error(text: str) -> params.LLRPStatus:
    return params.LLRPStatus(status_code=enums.StatusCode.M_ParameterError, error_description=text)


def _connection_event(status: int, now_s: float) -> messages.READER_EVENT_NOTIFICATION:
    return messages.READER_EVENT_NOTIFICATION(
        reader_event_notification_data=params.ReaderEventNotificationData(
            timestamp=params.UTCTimestamp(microseconds=int(now_s * 1_000_000)),
            connection_attempt_event=params.ConnectionAttemptEvent(status=status),
        )
    )


def report_frame(tag: TagReport) -> bytes:
    epc = (params.EPC_96(epc=tag.epc) if len(tag.epc) == 12
           else params.EPCData(epc=BitStr.from_bytes(tag.epc)))  # fmt: skip
    antenna = params.AntennaID(antenna_id=tag.antenna)
    trd = params.TagReportData(epc_parameter=epc, antenna_id=antenna)
    if tag.uptime:
        trd.first_seen_timestamp_uptime = params.FirstSeenTimestampUptime(
            microseconds=tag.first_seen_us)
    else:
        trd.first_seen_timestamp_utc = params.FirstSeenTimestampUTC(microseconds=tag.first_seen_us)
    if tag.rssi is not None:
        trd.peak_rssi = params.PeakRSSI(peak_rssi=max(-128, min(127, round(tag.rssi))))
        trd.custom.append(impinj.ImpinjPeakRSSI(rssi=round(tag.rssi * 100)))
    return messages.RO_ACCESS_REPORT(tag_report_datas=[trd]).to_bytes(message_id=0)
