"""The LLRP client conversation, sans-I/O: bytes from the reader in, bytes to send and
tag report lines out (docs/llrp.md). `readers/llrp_source.py` drives it over TCP.

Messages are encoded and decoded by `llrpkit.protocol` (MIT). The conversation, after
the reader's ConnectionAttemptEvent:

1. ENABLE_EVENTS_AND_REPORTS: the reader releases the reports it held while no client
   was connected (we ask it to hold them, step 5), and they are journalled first;
2. IMPINJ_ENABLE_EXTENSIONS (a reader that refuses it is driven with plain LLRP);
3. GET_ROSPECS: if our ROSpec is there, the reader kept inventorying while we were away
   and is in the known state: resume (step 5, then run). Its id is a hash of its
   content, so a changed antenna list or setting is a different ROSpec;
4. otherwise reset: SET_READER_CONFIG ResetToFactoryDefault, DELETE_ACCESSSPEC 0,
   DELETE_ROSPEC 0;
5. SET_READER_CONFIG: keepalive every `keepalive_ms`, HoldEventsAndReportsUponReconnect,
   antenna and buffer events, and (Impinj) link monitoring, so the reader drops a link
   whose keepalives go unanswered and buffers its reports for our next connection;
6. ADD_ROSPEC and ENABLE_ROSPEC (after a reset; an Immediate start trigger makes it run).

The reader's KEEPALIVEs are answered; silence for three keepalive periods means the link
is dead (`LinkLost`): the source closes it and reconnects.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from llrpkit.exceptions import MessageDecodeError
from llrpkit.protocol import LLRPMessage, decode_message, enums, impinj, messages, params

from readers.formats.llrp import rssi_text
from readers.read import ReaderError

log = logging.getLogger(__name__)

HEADER = 10
MAX_FRAME = 4 * 1024 * 1024
SEARCH_MODES = {"reader-selected": 0, "single-target": 1, "dual-target": 2,
                "single-target-suppression": 3}  # fmt: skip


class LlrpError(ReaderError):
    """The reader refused a step of the conversation: close and retry with back-off."""


class LinkLost(LlrpError):
    """The link is unusable (silent, out of step, closed by the reader)."""


@dataclass(frozen=True, slots=True)
class LlrpSettings:
    """What the ROSpec and reader configuration ask for (docs/llrp.md: reader settings)."""

    antennas: tuple[int, ...] = ()  # () = every port (AntennaID 0)
    session: int = 1
    search_mode: str = "dual-target"
    tag_population: int = 32
    keepalive_ms: int = 5000
    impinj: bool = True  # use Impinj extensions when the reader accepts them

    def __post_init__(self) -> None:
        if any(not 1 <= a <= 65535 for a in self.antennas):
            raise ValueError(f"antennas {self.antennas} must be port numbers 1-65535")
        if not 0 <= self.session <= 3:
            raise ValueError(f"session {self.session} must be 0-3")
        if self.search_mode not in SEARCH_MODES:
            raise ValueError(f"search mode {self.search_mode!r}: one of {', '.join(SEARCH_MODES)}")
        if not 1 <= self.tag_population <= 65535:
            raise ValueError(f"tag population {self.tag_population} must be 1-65535")
        if not 500 <= self.keepalive_ms <= 600_000:
            raise ValueError(f"keepalive {self.keepalive_ms} ms must be 500-600000")


def rospec(settings: LlrpSettings, impinj_on: bool) -> params.ROSpec:
    """Inventory continuously on the antennas, one report per tag read, as it happens."""
    singulation = params.C1G2SingulationControl(
        session=settings.session, tag_population=settings.tag_population, tag_transit_time=0
    )
    command = params.C1G2InventoryCommand(
        tag_inventory_state_aware=False, c1_g2_singulation_control=singulation
    )
    selector = params.TagReportContentSelector(
        enable_antenna_id=True, enable_peak_rssi=True, enable_first_seen_timestamp=True
    )
    report = params.ROReportSpec(
        ro_report_trigger=enums.ROReportTriggerType.Upon_N_Tags_Or_End_Of_AISpec,
        n=1,
        tag_report_content_selector=selector,
    )
    if impinj_on:
        mode = SEARCH_MODES[settings.search_mode]
        command.custom.append(impinj.ImpinjInventorySearchMode(inventory_search_mode=mode))
        report.custom.append(impinj.ImpinjTagReportContentSelector(
            impinj_enable_peak_rssi=impinj.ImpinjEnablePeakRSSI(peak_rssi_mode=1)
        ))  # fmt: skip
    spec = params.ROSpec(
        ro_spec_id=0,
        priority=0,
        current_state=enums.ROSpecState.Disabled,
        ro_boundary_spec=params.ROBoundarySpec(
            ro_spec_start_trigger=params.ROSpecStartTrigger(
                ro_spec_start_trigger_type=enums.ROSpecStartTriggerType.Immediate
            ),
            ro_spec_stop_trigger=params.ROSpecStopTrigger(
                ro_spec_stop_trigger_type=enums.ROSpecStopTriggerType.Null
            ),
        ),
        spec_parameters=[params.AISpec(
            antenna_ids=list(settings.antennas) or [0],
            ai_spec_stop_trigger=params.AISpecStopTrigger(
                ai_spec_stop_trigger_type=enums.AISpecStopTriggerType.Null
            ),
            inventory_parameter_specs=[params.InventoryParameterSpec(
                inventory_parameter_spec_id=1,
                protocol_id=enums.AirProtocols.EPCGlobalClass1Gen2,
                antenna_configurations=[params.AntennaConfiguration(
                    antenna_id=0, air_protocol_inventory_command_settings=[command]
                )],
            )],
        )],
        ro_report_spec=report,
    )  # fmt: skip
    # The id names the content: a reader holding this id runs exactly this ROSpec.
    spec.ro_spec_id = zlib.crc32(spec.encode()) & 0x7FFF_FFFF or 1
    return spec


def reader_config(settings: LlrpSettings, impinj_on: bool) -> messages.SET_READER_CONFIG:
    events = [enums.NotificationEventType.Antenna_Event,
              enums.NotificationEventType.Report_Buffer_Fill_Warning,
              enums.NotificationEventType.Reader_Exception_Event]  # fmt: skip
    config = messages.SET_READER_CONFIG(
        keepalive_spec=params.KeepaliveSpec(
            keepalive_trigger_type=enums.KeepaliveTriggerType.Periodic,
            periodic_trigger_value=settings.keepalive_ms,
        ),
        events_and_reports=params.EventsAndReports(hold_events_and_reports_upon_reconnect=True),
        reader_event_notification_spec=params.ReaderEventNotificationSpec(
            event_notification_states=[
                params.EventNotificationState(event_type=e, notification_state=True)
                for e in events
            ]
        ),
    )
    if impinj_on:
        config.custom.append(
            impinj.ImpinjLinkMonitorConfiguration(link_monitor_mode=1, link_down_threshold=3)
        )
    return config


def report_text(trd: params.TagReportData) -> str:
    """The `llrp` text line of one TagReportData (readers/formats/llrp.py); a missing
    field is left empty, so the format quarantines the line with the reason."""
    epc = trd.epc_parameter.epc
    epc_hex = epc.hex() if isinstance(epc, bytes) else epc.data.hex()
    antenna = "" if trd.antenna_id is None else str(trd.antenna_id.antenna_id)
    rssi = ""
    centi = [p.rssi for p in trd.custom if isinstance(p, impinj.ImpinjPeakRSSI)]
    if centi:
        rssi = rssi_text(centi[0] / 100)
    elif trd.peak_rssi is not None:
        rssi = str(trd.peak_rssi.peak_rssi)
    if trd.first_seen_timestamp_utc is not None:
        when = str(trd.first_seen_timestamp_utc.microseconds)
    elif trd.first_seen_timestamp_uptime is not None:
        when = f"u{trd.first_seen_timestamp_uptime.microseconds}"
    else:
        when = ""
    return f"{epc_hex},{antenna},{rssi},{when}"


Step = tuple[LLRPMessage, Callable[[LLRPMessage], None]]


class LlrpClient:
    """One connection's conversation. Call `receive(bytes)` with what arrives; it returns
    the report lines; send `outgoing()` after each call; call `tick(now_s)` about once a
    second. `LlrpError` means: close the link and reconnect."""

    def __init__(self, settings: LlrpSettings, now_s: float = 0.0) -> None:
        self.settings = settings
        self.state = "greeting"  # -> configuring -> running
        self.impinj_on = False
        self.resumed = False  # the reader still ran our ROSpec: nothing was reset
        self.undecodable: list[str] = []  # frames llrpkit could not decode, as hex
        self._buf = bytearray()
        self._out = bytearray()
        self._next_id = 1
        self._steps: list[Step] = []
        self._waiting: tuple[int, Callable[[LLRPMessage], None]] | None = None
        self._last_rx = now_s
        self._spec: params.ROSpec | None = None

    # -- I/O boundary -------------------------------------------------------------------

    def receive(self, data: bytes, now_s: float = 0.0) -> list[str]:
        if data:
            self._last_rx = now_s
        self._buf += data
        lines: list[str] = []
        while len(self._buf) >= HEADER:
            length = int.from_bytes(self._buf[2:6], "big")
            if not HEADER <= length <= MAX_FRAME:
                raise LinkLost(f"frame length {length} is out of step with the stream")
            if len(self._buf) < length:
                break
            frame = bytes(self._buf[:length])
            del self._buf[:length]
            try:
                msg = decode_message(frame)
            except MessageDecodeError as exc:
                log.warning("undecodable LLRP frame (%s): %s", exc, frame[:64].hex())
                self.undecodable.append(frame.hex())
                continue
            lines.extend(self._dispatch(msg))
        return lines

    def outgoing(self) -> bytes:
        data, self._out = bytes(self._out), bytearray()
        return data

    def tick(self, now_s: float) -> None:
        silent = now_s - self._last_rx
        if silent > 3 * self.settings.keepalive_ms / 1000:
            raise LinkLost(f"no message from the reader for {silent:.1f} s")

    # -- dispatch -----------------------------------------------------------------------

    def _dispatch(self, msg: LLRPMessage) -> list[str]:
        if isinstance(msg, messages.RO_ACCESS_REPORT):
            return [report_text(trd) for trd in msg.tag_report_datas]
        if isinstance(msg, messages.KEEPALIVE):
            self._send(messages.KEEPALIVE_ACK(), msg.message_id)
        elif isinstance(msg, messages.READER_EVENT_NOTIFICATION):
            self._event(msg.reader_event_notification_data)
        elif self._waiting is not None and msg.message_id == self._waiting[0]:
            handler = self._waiting[1]
            self._waiting = None
            handler(msg)
            self._advance()
        else:
            log.debug("ignored %s", type(msg).__name__)
        return []

    def _event(self, data: params.ReaderEventNotificationData) -> None:
        attempt = data.connection_attempt_event
        if attempt is not None and self.state == "greeting":
            if int(attempt.status) != enums.ConnectionAttemptStatusType.Success:
                why = _name(attempt.status, enums.ConnectionAttemptStatusType)
                raise LlrpError(f"the reader refused the connection: {why}")
            self.state = "configuring"
            self._begin()
        elif data.connection_close_event is not None:
            raise LinkLost("the reader closed the connection")
        elif data.antenna_event is not None:
            ev = data.antenna_event
            state = "connected" if int(ev.event_type) == 1 else "DISCONNECTED"
            log.warning("reader antenna %d %s", ev.antenna_id, state)
        elif data.report_buffer_level_warning_event is not None:
            pct = data.report_buffer_level_warning_event.report_buffer_percentage_full
            log.warning("reader report buffer %d%% full", pct)
        elif data.report_buffer_overflow_error_event is not None:
            log.error("reader report buffer overflowed: the reader dropped reports")

    # -- the configuration steps ----------------------------------------------------------

    def _begin(self) -> None:
        # No response: the held reports come back before GET_ROSPECS is answered.
        self._send(messages.ENABLE_EVENTS_AND_REPORTS())
        if self.settings.impinj:
            self._steps.append((impinj.IMPINJ_ENABLE_EXTENSIONS(), self._on_extensions))
        self._steps.append((messages.GET_ROSPECS(), self._on_rospecs))
        self._advance()

    def _advance(self) -> None:
        if self._waiting is not None:
            return
        if not self._steps:
            if self.state == "configuring":
                self.state = "running"
                log.info("reader %s; inventory running", "resumed" if self.resumed else "reset")
            return
        request, handler = self._steps.pop(0)
        mid = self._send(request)
        self._waiting = (mid, handler)

    def _send(self, msg: LLRPMessage, message_id: int | None = None) -> int:
        if message_id is None:
            message_id, self._next_id = self._next_id, self._next_id + 1
        self._out += msg.to_bytes(message_id=message_id)
        return message_id

    def _on_extensions(self, msg: LLRPMessage) -> None:
        status = getattr(msg, "llrp_status", None)
        self.impinj_on = status is not None and _ok(status) and not isinstance(
            msg, messages.ERROR_MESSAGE
        )
        if not self.impinj_on:
            log.info("the reader has no Impinj extensions: plain LLRP")

    def _on_rospecs(self, msg: LLRPMessage) -> None:
        _check(msg, "GET_ROSPECS")
        self._spec = rospec(self.settings, self.impinj_on)
        held = {s.ro_spec_id: s for s in getattr(msg, "ro_specs", [])}
        ours = held.get(self._spec.ro_spec_id)
        config = (reader_config(self.settings, self.impinj_on), _checker("SET_READER_CONFIG"))
        if ours is not None and len(held) == 1:
            self.resumed = True
            self._steps.append(config)
            if int(ours.current_state) == enums.ROSpecState.Disabled:
                self._steps.append(self._enable())
            return
        self._steps += [
            (messages.SET_READER_CONFIG(reset_to_factory_default=True), _checker("reset")),
            (messages.DELETE_ACCESSSPEC(access_spec_id=0), _ignore),
            (messages.DELETE_ROSPEC(ro_spec_id=0), _ignore),
            config,
            (messages.ADD_ROSPEC(ro_spec=self._spec), _checker("ADD_ROSPEC")),
            self._enable(),
        ]

    def _enable(self) -> Step:
        assert self._spec is not None
        return (messages.ENABLE_ROSPEC(ro_spec_id=self._spec.ro_spec_id),
                _checker("ENABLE_ROSPEC"))  # fmt: skip


def _ok(status: params.LLRPStatus) -> bool:
    return int(status.status_code) == enums.StatusCode.M_Success


def _check(msg: LLRPMessage, step: str) -> None:
    status = getattr(msg, "llrp_status", None)
    if status is None or not _ok(status) or isinstance(msg, messages.ERROR_MESSAGE):
        code = "no status" if status is None else _name(status.status_code, enums.StatusCode)
        text = "" if status is None else status.error_description
        raise LlrpError(f"the reader refused {step}: {code} {text}".rstrip())


def _checker(step: str) -> Callable[[LLRPMessage], None]:
    return lambda msg: _check(msg, step)


def _ignore(msg: LLRPMessage) -> None:
    return None  # deleting what may not exist: either answer is fine


def _name(value: int, enum: type[IntEnum]) -> str:
    try:
        return enum(int(value)).name
    except ValueError:
        return str(int(value))
