"""Reading the Observation JSONL contract: what becomes a signal, what is a bad line."""

from __future__ import annotations

import io

import pytest

from coverwatch.sources.jsonl import BadLine, JsonlRecord, parse_line, read_records


@pytest.mark.parametrize(
    ("line", "signals"),
    [
        ('{"ip": "10.0.0.1", "http.server": "App-webs/"}', [("http.server", "App-webs/")]),
        ('{"mac": "44-19-B6-00-00-01"}', [("mac", "44:19:b6:00:00:01")]),
        ('{"open_ports": [80, 37777]}', [("tcp.port", "80"), ("tcp.port", "37777")]),
        (
            '{"sadp.firmware": "V5.5.800 build 210628", "maker": "ignored", "evidence": []}',
            [("sadp.firmware", "V5.5.800 build 210628")],
        ),
        (
            '{"hostname": "cam-01", "snmp.sysdescr": null, "onvif.hardware_id": 88}',
            [("hostname", "cam-01"), ("snmp.sysdescr", ""), ("onvif.hardware_id", "88")],
        ),
        ("{}", []),
    ],
)
def test_signals_from_a_line(line: str, signals: list[tuple[str, str]]) -> None:
    record = parse_line(1, line)
    assert isinstance(record, JsonlRecord)
    assert record.signals == signals


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["a"]', "expected a JSON object, got list"),
        ('"text"', "expected a JSON object, got str"),
        ('{"http.server": {"a": 1}}', "key 'http.server'"),
        ('{"http.server": [["nested"]]}', "key 'http.server'"),
        ('{"mac": "not-a-mac"}', "is not a MAC address"),
    ],
)
def test_bad_lines_say_what_is_wrong(line: str, message: str) -> None:
    with pytest.raises(BadLine, match=message):
        parse_line(3, line)


def test_blank_lines_are_skipped_and_bad_lines_do_not_stop_the_stream() -> None:
    stream = io.StringIO('{"a.b": "1"}\n\n{bad\n{"c.d": "2"}\n')
    items = list(read_records(stream))
    assert [i.line if isinstance(i, JsonlRecord) else i[0] for i in items] == [1, 3, 4]
    assert isinstance(items[1], tuple) and isinstance(items[1][1], BadLine)
