"""The LLRP client conversation, sans-I/O: the reader's frames in (encoded by llrpkit, as a
reader's would be), the client's frames and report lines out."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from llrpkit.protocol import BitStr, LLRPMessage, decode_message, enums, impinj, messages, params

from readers.formats import get_format
from readers.formats.llrp import TagReport, report_line
from readers.llrp_client import LinkLost, LlrpClient, LlrpError, LlrpSettings, report_text, rospec
from readers.llrp_emulator import report_frame
from readers.llrp_source import parse_llrp_url, with_antennas
from readers.read import FormatContext

OK = params.LLRPStatus(status_code=enums.StatusCode.M_Success)
EPC = bytes.fromhex("e2000017010b016210000001")
FIRST_SEEN_US = 1_700_000_000_123_456


def frames(data: bytes) -> list[LLRPMessage]:
    out = []
    while data:
        length = int.from_bytes(data[2:6], "big")
        out.append(decode_message(data[:length]))
        data = data[length:]
    return out


def connection_event(status: int = 0) -> bytes:
    return messages.READER_EVENT_NOTIFICATION(
        reader_event_notification_data=params.ReaderEventNotificationData(
            timestamp=params.UTCTimestamp(microseconds=1_700_000_000_000_000),
            connection_attempt_event=params.ConnectionAttemptEvent(status=status),
        )
    ).to_bytes(message_id=0)


def tag(**fields: object) -> params.TagReportData:
    base: dict[str, object] = {
        "epc_parameter": params.EPC_96(epc=EPC),
        "antenna_id": params.AntennaID(antenna_id=2),
        "peak_rssi": params.PeakRSSI(peak_rssi=-52),
        "first_seen_timestamp_utc": params.FirstSeenTimestampUTC(microseconds=FIRST_SEEN_US),
    }
    base.update(fields)
    return params.TagReportData(**base)  # type: ignore[arg-type]


def answer(client: LlrpClient, request: LLRPMessage, response: LLRPMessage) -> list[LLRPMessage]:
    """Answer `request` as a reader would; what the client sends next."""
    client.receive(response.to_bytes(message_id=request.message_id))
    return frames(client.outgoing())


def start(client: LlrpClient) -> LLRPMessage:
    """The connection event; the client's first request (after releasing held reports)."""
    client.receive(connection_event())
    released, request = frames(client.outgoing())
    assert isinstance(released, messages.ENABLE_EVENTS_AND_REPORTS)
    return request


RESPONSES = {
    messages.SET_READER_CONFIG: messages.SET_READER_CONFIG_RESPONSE,
    messages.DELETE_ACCESSSPEC: messages.DELETE_ACCESSSPEC_RESPONSE,
    messages.DELETE_ROSPEC: messages.DELETE_ROSPEC_RESPONSE,
    messages.ADD_ROSPEC: messages.ADD_ROSPEC_RESPONSE,
    messages.ENABLE_ROSPEC: messages.ENABLE_ROSPEC_RESPONSE,
}


def test_a_new_reader_is_reset_then_given_our_rospec() -> None:
    settings = LlrpSettings(antennas=(1, 2), session=1, tag_population=16)
    client = LlrpClient(settings)
    request = start(client)
    assert isinstance(request, impinj.IMPINJ_ENABLE_EXTENSIONS)
    (request,) = answer(client, request, impinj.IMPINJ_ENABLE_EXTENSIONS_RESPONSE(llrp_status=OK))
    assert isinstance(request, messages.GET_ROSPECS)
    steps = answer(client, request, messages.GET_ROSPECS_RESPONSE(llrp_status=OK, ro_specs=[]))
    while len(steps) < 7 and client.state != "running":
        steps += answer(client, steps[-1], RESPONSES[type(steps[-1])](llrp_status=OK))
    assert [type(m).__name__ for m in steps] == [
        "SET_READER_CONFIG", "DELETE_ACCESSSPEC", "DELETE_ROSPEC", "SET_READER_CONFIG",
        "ADD_ROSPEC", "ENABLE_ROSPEC",
    ]  # fmt: skip
    reset, _, _, config, add, enable = steps
    assert reset.reset_to_factory_default is True
    assert config.keepalive_spec.periodic_trigger_value == 5000
    assert config.events_and_reports.hold_events_and_reports_upon_reconnect is True
    assert any(isinstance(p, impinj.ImpinjLinkMonitorConfiguration) for p in config.custom)
    spec = add.ro_spec
    assert spec.spec_parameters[0].antenna_ids == [1, 2]
    assert enable.ro_spec_id == spec.ro_spec_id
    command = spec.spec_parameters[0].inventory_parameter_specs[0].antenna_configurations[0]
    singulation = command.air_protocol_inventory_command_settings[0].c1_g2_singulation_control
    assert (singulation.session, singulation.tag_population) == (1, 16)
    selector = spec.ro_report_spec.tag_report_content_selector
    assert selector.enable_antenna_id and selector.enable_peak_rssi
    assert selector.enable_first_seen_timestamp
    assert (spec.ro_report_spec.ro_report_trigger, spec.ro_report_spec.n) == (1, 1)
    assert client.state == "running" and not client.resumed and client.impinj_on


def test_a_reader_still_running_our_rospec_is_resumed_not_reset() -> None:
    settings = LlrpSettings(antennas=(3,), impinj=False)
    client = LlrpClient(settings)
    request = start(client)
    ours = rospec(settings, impinj_on=False)
    ours.current_state = enums.ROSpecState.Active
    held = messages.GET_ROSPECS_RESPONSE(llrp_status=OK, ro_specs=[ours])
    (config,) = answer(client, request, held)
    assert isinstance(config, messages.SET_READER_CONFIG)
    assert config.reset_to_factory_default is False
    assert answer(client, config, messages.SET_READER_CONFIG_RESPONSE(llrp_status=OK)) == []
    assert client.state == "running" and client.resumed


def test_the_rospec_id_names_its_content() -> None:
    one = rospec(LlrpSettings(antennas=(1, 2)), True).ro_spec_id
    assert one == rospec(LlrpSettings(antennas=(1, 2)), True).ro_spec_id
    assert one != rospec(LlrpSettings(antennas=(1, 2, 3)), True).ro_spec_id
    assert one != rospec(LlrpSettings(antennas=(1, 2), session=2), True).ro_spec_id


def test_refusals_are_errors() -> None:
    client = LlrpClient(LlrpSettings())
    with pytest.raises(LlrpError, match="Failed_A_Client_Initiated_Connection_Already_Exists"):
        client.receive(connection_event(status=2))
    client = LlrpClient(LlrpSettings(impinj=False))
    request = start(client)
    bad = params.LLRPStatus(status_code=enums.StatusCode.M_ParameterError, error_description="no")
    with pytest.raises(LlrpError, match="refused GET_ROSPECS: M_ParameterError no"):
        answer(client, request, messages.GET_ROSPECS_RESPONSE(llrp_status=bad))


def test_keepalives_are_answered_and_silence_is_a_lost_link() -> None:
    client = LlrpClient(LlrpSettings(keepalive_ms=1000), now_s=0.0)
    client.receive(messages.KEEPALIVE().to_bytes(message_id=77), now_s=1.0)
    (ack,) = frames(client.outgoing())
    assert isinstance(ack, messages.KEEPALIVE_ACK) and ack.message_id == 77
    client.tick(3.9)
    with pytest.raises(LinkLost, match=r"no message from the reader for 3\.1 s"):
        client.tick(4.1)


def test_reports_split_across_chunks_and_a_desynchronised_stream() -> None:
    client = LlrpClient(LlrpSettings())
    data = messages.RO_ACCESS_REPORT(tag_report_datas=[tag(), tag()]).to_bytes(message_id=0)
    lines = []
    for i in range(0, len(data), 7):  # TCP may deliver any split
        lines += client.receive(data[i : i + 7])
    assert lines == ["e2000017010b016210000001,2,-52,1700000000123456"] * 2
    with pytest.raises(LinkLost, match="out of step"):
        client.receive(b"\x04\x3d\x00\x00\x00\x03" + b"\x00" * 8)


def test_an_undecodable_frame_is_kept_for_quarantine() -> None:
    client = LlrpClient(LlrpSettings())
    good = messages.RO_ACCESS_REPORT(tag_report_datas=[tag()]).to_bytes(message_id=0)
    broken = good[:10] + b"\x00\xf0\x00\x02" + good[14:]  # a TLV whose length is too short
    assert client.receive(broken + good) == ["e2000017010b016210000001,2,-52,1700000000123456"]
    assert client.undecodable == [broken.hex()]


def test_report_text_prefers_impinj_centi_dbm_and_keeps_gaps_visible() -> None:
    fine = tag()
    fine.custom.append(impinj.ImpinjPeakRSSI(rssi=-5225))
    assert report_text(fine) == "e2000017010b016210000001,2,-52.25,1700000000123456"
    odd = tag(epc_parameter=params.EPCData(epc=BitStr.from_bytes(b"\x30\x00")), antenna_id=None,
              peak_rssi=None, first_seen_timestamp_utc=None,
              first_seen_timestamp_uptime=params.FirstSeenTimestampUptime(microseconds=99))
    assert report_text(odd) == "3000,,,u99"  # fmt: skip


def test_port_url_options() -> None:
    host, port, settings = parse_llrp_url(
        "tcp://10.0.0.5?antennas=3,1&session=2&search_mode=single-target&tag_population=64"
        "&keepalive_ms=2000&impinj=0"
    )
    assert (host, port) == ("10.0.0.5", 5084)
    assert settings == LlrpSettings((1, 3), 2, "single-target", 64, 2000, False)
    assert parse_llrp_url("tcp://h:6000")[1:] == (6000, LlrpSettings())
    for bad, why in [("socket://h:5084", "tcp://HOST:5084"), ("tcp://h?speed=1", "unknown"),
                     ("tcp://h?session=7", "session 7"), ("tcp://h?antennas=a", "invalid"),
                     ("tcp://h?search_mode=fast", "search mode")]:  # fmt: skip
        with pytest.raises(ValueError, match=why):
            parse_llrp_url(bad)
    assert with_antennas("tcp://h:5084", {2, 1}) == "tcp://h:5084?antennas=1,2"
    assert with_antennas("tcp://h?session=2", {4}) == "tcp://h?session=2&antennas=4"
    assert with_antennas("tcp://h?antennas=7", {4}) == "tcp://h?antennas=7"


reports = st.builds(
    TagReport,
    epc=st.binary(min_size=2, max_size=32),
    antenna=st.integers(1, 65535),
    rssi=st.none() | st.integers(-12800, 12700).map(lambda c: c / 100),
    first_seen_us=st.integers(0, 2**63 - 1),
    uptime=st.booleans(),
)


@given(tags=st.lists(reports, min_size=1, max_size=8), cuts=st.lists(st.integers(0, 400)))
def test_reports_through_the_binary_protocol_come_out_as_their_lines(
    tags: list[TagReport], cuts: list[int]
) -> None:
    """A report encoded as a reader sends it (RO_ACCESS_REPORT) and read back by the
    client is the same `llrp` line, however TCP splits the stream."""
    data = b"".join(report_frame(tag) for tag in tags)
    client = LlrpClient(LlrpSettings())
    lines, last = [], 0
    for cut in [*sorted({c % (len(data) + 1) for c in cuts}), len(data)]:
        lines += client.receive(data[last:cut])
        last = cut
    assert lines == [report_line(tag) for tag in tags]


def test_docs_give_the_settings_defaults_and_a_line_that_parses() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "llrp.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(\w+)` \| `([^`]+)` \|", doc, re.MULTILINE))
    defaults = LlrpSettings()
    assert set(rows) == {"session", "search_mode", "tag_population", "keepalive_ms", "impinj"}
    for key, text in rows.items():
        value = getattr(defaults, key)
        assert (str(int(value)) if isinstance(value, bool) else str(value)) == text, key
    (line,) = re.findall(r"^    (\w+,\d+,[-.\d]*,\d+)$", doc, re.MULTILINE)
    assert get_format("llrp").parse(line, FormatContext("FIN", ZoneInfo("UTC"))) is not None
