"""Dahua magicBox.cgi parsers: key=value answers, version strings, junk and oversize input."""

from __future__ import annotations

import pytest

from coverwatch.probes import dahua_api

SYSTEM_INFO = (
    b"appAutoStart=true\r\ndeviceType=IPC-HDBW4231F-AS\r\nhardwareVersion=1.00\r\n"
    b"processor=S3LM\r\nserialNumber=4J0186FPAZ12345\r\nupdateSerial=IPC-HDBW4231F-AS\r\n"
)


def test_system_info() -> None:
    assert dahua_api.system_info(SYSTEM_INFO) == {
        "dahua.device_type": "IPC-HDBW4231F-AS",
        "dahua.serial": "4J0186FPAZ12345",
        "dahua.hardware": "1.00",
        "dahua.update_serial": "IPC-HDBW4231F-AS",
    }


@pytest.mark.parametrize(
    ("body", "firmware"),
    [
        (
            b"version=2.800.0000016.0.R,build:2020-06-05\r\n",
            "2.800.0000016.0.R, Build Date: 2020-06-05",
        ),
        (
            b"version=V2.620.00AC000.3.R,build:2019-08-03",
            "V2.620.00AC000.3.R, Build Date: 2019-08-03",
        ),
        (b"version=2.420.0009.0.R, build : 2015-11-06", "2.420.0009.0.R, Build Date: 2015-11-06"),
        (b"version=4.001.0000005.0", "4.001.0000005.0"),
    ],
)
def test_software_version(body: bytes, firmware: str) -> None:
    assert dahua_api.software_version(body) == {"dahua.firmware": firmware}


def test_first_value_wins_and_junk_lines_are_ignored() -> None:
    body = b"<html>\nserialNumber=AAA\nserialNumber=BBB\n=x\n bad key=1\ndeviceType=NVR5416\n"
    assert dahua_api.system_info(body)["dahua.serial"] == "AAA"


def test_values_are_bounded_and_printable() -> None:
    body = b"deviceType=" + b"\x1b[31m" + b"A" * 1000 + b"\nserialNumber=1\n"
    value = dahua_api.system_info(body)["dahua.device_type"]
    assert len(value) == 128 and "\x1b" not in value


@pytest.mark.parametrize(
    ("parser", "body"),
    [
        (dahua_api.system_info, b""),
        (dahua_api.system_info, b"<html><title>WEB</title></html>"),
        (dahua_api.system_info, b"appAutoStart=true\nprocessor=S3LM\n"),
        (dahua_api.software_version, b"Error\r\nBad Request!\r\n"),
        (dahua_api.software_version, b"deviceType=IPC\n"),
        (dahua_api.system_info, b"x" * (dahua_api.MAX_DOCUMENT + 10) + b"\ndeviceType=late\n"),
    ],
)
def test_not_an_answer(parser: object, body: bytes) -> None:
    with pytest.raises(dahua_api.MalformedDahua):
        parser(body)  # type: ignore[operator]
