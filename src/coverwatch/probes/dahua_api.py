"""Dahua HTTP API: parsers for ``/cgi-bin/magicBox.cgi`` answers (digest-authenticated).

``action=getSystemInfo`` answers ``key=value`` lines (deviceType, serialNumber,
hardwareVersion, processor, updateSerial, ...) and ``action=getSoftwareVersion`` one line
``version=2.800.0000016.0.R,build:2020-06-05`` (Dahua HTTP API for IPC & NVR, section 4.6.1
"magicBox"; the same calls are made by public clients, e.g. python-amcrest
``amcrest/system.py`` and rroller/dahua ``custom_components/dahua/client.py``). Amcrest and
Lorex recorders on Dahua firmware answer them too. Every value is bounded, printable text.
"""

from __future__ import annotations

import re

from coverwatch.probes.http import clean_text

SYSTEM_INFO_PATH = "/cgi-bin/magicBox.cgi?action=getSystemInfo"
SOFTWARE_VERSION_PATH = "/cgi-bin/magicBox.cgi?action=getSoftwareVersion"
#: A magicBox answer is a few hundred bytes; we read no more than this of it.
MAX_DOCUMENT = 16 * 1024
_MAX_LINES = 64
_MAX_VALUE = 128

#: getSystemInfo key -> signal key.
SYSTEM_INFO_SIGNALS = {
    "deviceType": "dahua.device_type",
    "serialNumber": "dahua.serial",
    "hardwareVersion": "dahua.hardware",
    "updateSerial": "dahua.update_serial",
}
_KEY = re.compile(r"^[A-Za-z][\w.\[\]]{0,63}$")
_VERSION = re.compile(r"^\s*(?P<version>[^,]+?)\s*(?:,\s*build\s*:\s*(?P<build>[\d-]+))?\s*$", re.I)


class MalformedDahua(ValueError):
    """The bytes are not a magicBox ``key=value`` answer."""


def parse_key_values(body: bytes) -> dict[str, str]:
    """The ``key=value`` lines of a magicBox answer (first value of a repeated key wins)."""
    text = body[:MAX_DOCUMENT].decode("utf-8", "replace")
    values: dict[str, str] = {}
    for line in text.splitlines()[:_MAX_LINES]:
        key, sep, value = line.strip().partition("=")
        if not sep or not _KEY.match(key):
            continue
        values.setdefault(key, clean_text(value, _MAX_VALUE))
    if not values:
        raise MalformedDahua("no key=value lines in the answer")
    return values


def system_info(body: bytes) -> dict[str, str]:
    """Signal keys from a getSystemInfo answer; raises MalformedDahua when it names nothing."""
    values = parse_key_values(body)
    result = {key: values[name] for name, key in SYSTEM_INFO_SIGNALS.items() if values.get(name)}
    if "dahua.device_type" not in result and "dahua.serial" not in result:
        raise MalformedDahua("getSystemInfo names no deviceType or serialNumber")
    return result


def firmware_string(answer: str) -> str:
    """``V2.800.0000018.0.R, Build Date: 2021-07-07`` from ``V2.800.0000018.0.R,build:2021-07-07``.

    The web UI and ONVIF show the ``Build Date:`` form; ``cves.yaml`` reads the date either way.
    """
    match = _VERSION.match(answer)
    if match is None:
        return clean_text(answer, _MAX_VALUE)
    version, build = match.group("version"), match.group("build")
    return f"{version}, Build Date: {build}" if build else version


def software_version(body: bytes) -> dict[str, str]:
    """Signal keys from a getSoftwareVersion answer; raises MalformedDahua without a version."""
    values = parse_key_values(body)
    if not values.get("version"):
        raise MalformedDahua("getSoftwareVersion names no version")
    return {"dahua.firmware": firmware_string(values["version"])}
