"""Lab device profiles: YAML data files (see profiles/FORMAT.md), loaded and validated."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any

import yaml

from coverwatch.errors import KnowledgeError
from coverwatch.identify.knowledge import SafeLoader
from coverwatch.models import DeviceType

PROTOCOLS = ("http", "https", "rtsp", "banner", "silent")
_TLS_KEYS = {"CN", "O", "OU", "C", "L", "ST", "emailAddress"}


@dataclass(frozen=True)
class Reply:
    """A canned HTTP or RTSP answer."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""
    auth: str | None = None
    """``digest``: answered only to requests that authenticate (lab/auth.py), else ``challenge``."""
    challenge: Reply | None = None
    """The answer to a request without valid credentials (a 401 naming the realm)."""


@dataclass(frozen=True)
class Service:
    """One listening port of an emulated device."""

    port: int
    protocol: str
    routes: dict[str, Reply] = field(default_factory=dict)
    not_found: Reply = Reply(404)
    onvif_path: str | None = None
    tls_subject: dict[str, str] = field(default_factory=dict)
    rtsp_headers: tuple[tuple[str, str], ...] = ()
    options: Reply | None = None
    describe: Reply | None = None
    banner: str = ""


@dataclass(frozen=True)
class Profile:
    """Everything one kind of emulated device answers."""

    name: str
    description: str
    weight: float
    truth: dict[str, str | None]
    identity: dict[str, str]
    onvif: dict[str, Any] | None
    services: tuple[Service, ...]
    sources: tuple[dict[str, str], ...]
    unobservable: frozenset[str] = frozenset()
    """Truth fields the device's public tell-tales cannot reveal (a Huawei switch's SSH and
    Telnet greetings name Huawei's VRP, which runs on its switches and routers alike): a
    perfect audit without more access leaves them unknown."""
    discovery: dict[str, Any] = field(default_factory=dict)
    """Discovery-protocol answers (validated by ``lab.answers.check_discovery``)."""

    @property
    def ports(self) -> tuple[int, ...]:
        """The TCP ports a device of this profile listens on."""
        return tuple(sorted(s.port for s in self.services))


def _fail(name: str, where: str, message: str) -> KnowledgeError:
    return KnowledgeError(f"lab profile {name}.yaml: {where}: {message}")


def _reply(name: str, where: str, raw: Any) -> Reply:
    if not isinstance(raw, dict) or not isinstance(raw.get("status"), int):
        raise _fail(name, where, "needs an integer 'status'")
    headers = raw.get("headers") or []
    if not all(isinstance(h, list) and len(h) == 2 for h in headers):
        raise _fail(name, f"{where}.headers", "must be a list of [name, value] pairs")
    return Reply(
        raw["status"], tuple((str(k), str(v)) for k, v in headers), str(raw.get("body") or "")
    )


def _route(name: str, where: str, raw: dict[str, Any]) -> Reply:
    """A route's reply; ``auth: digest`` routes also need their ``challenge`` reply."""
    reply = _reply(name, where, raw)
    auth = raw.get("auth")
    if auth is None:
        return reply
    if auth != "digest":
        raise _fail(name, f"{where}.auth", f"{auth!r} is not supported (only digest)")
    challenge = _reply(name, f"{where}.challenge", raw.get("challenge"))
    if not any(k.lower() == "www-authenticate" for k, _ in challenge.headers):
        raise _fail(name, f"{where}.challenge", "needs a WWW-Authenticate header with the realm")
    return replace(reply, auth=auth, challenge=challenge)


def _service(name: str, index: int, raw: Any, by_port: dict[int, Service]) -> Service:
    where = f"services[{index}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("port"), int):
        raise _fail(name, where, "needs an integer 'port'")
    protocol = raw.get("protocol")
    if protocol not in PROTOCOLS:
        raise _fail(name, f"{where}.protocol", f"{protocol!r} is not one of {', '.join(PROTOCOLS)}")
    port = raw["port"]
    if protocol in ("http", "https"):
        base = by_port.get(raw["routes_from"]) if "routes_from" in raw else None
        if "routes_from" in raw and base is None:
            raise _fail(name, f"{where}.routes_from", "must name an earlier http(s) port")
        routes = dict(base.routes) if base else {}
        for i, route in enumerate(raw.get("routes") or []):
            if not isinstance(route, dict) or not str(route.get("path", "")).startswith("/"):
                raise _fail(name, f"{where}.routes[{i}]", "needs a 'path' starting with /")
            routes[route["path"]] = _route(name, f"{where}.routes[{i}]", route)
        not_found = (
            _reply(name, f"{where}.not_found", raw["not_found"])
            if "not_found" in raw
            else base.not_found
            if base
            else Reply(404)
        )
        subject = raw.get("tls", {}).get("subject", {}) if protocol == "https" else {}
        if not isinstance(subject, dict) or not set(subject) <= _TLS_KEYS:
            raise _fail(name, f"{where}.tls.subject", f"keys must be among {sorted(_TLS_KEYS)}")
        onvif_path = raw.get("onvif_path", base.onvif_path if base else None)
        return Service(
            port, protocol, routes, not_found, onvif_path, {k: str(v) for k, v in subject.items()}
        )
    if protocol == "rtsp":
        headers = tuple((str(k), str(v)) for k, v in raw.get("headers") or [])
        options = _reply(name, f"{where}.options", raw["options"]) if "options" in raw else None
        describe = _reply(name, f"{where}.describe", raw["describe"]) if "describe" in raw else None
        return Service(port, protocol, rtsp_headers=headers, options=options, describe=describe)
    if protocol == "banner":
        if not isinstance(raw.get("banner"), str):
            raise _fail(name, f"{where}.banner", "needs the banner text")
        return Service(port, protocol, banner=raw["banner"])
    return Service(port, protocol)


def _discovery(name: str, raw: Any, by_port: dict[int, Service]) -> dict[str, Any]:
    from coverwatch.lab.answers import DiscoveryFormatError, check_discovery

    try:
        return check_discovery(raw, {p: s.routes for p, s in by_port.items()})
    except DiscoveryFormatError as e:
        raise _fail(name, f"discovery{e.where}", str(e)) from e


def _unobservable(name: str, raw: Any) -> frozenset[str]:
    fields = {"maker", "brand", "model", "device_type"}
    if raw is None:
        return frozenset()
    if not isinstance(raw, list) or not set(raw) <= fields:
        raise _fail(name, "unobservable", f"must be a list of {', '.join(sorted(fields))}")
    return frozenset(raw)


def parse_profile(name: str, data: Any) -> Profile:
    """Validate one profile document; errors name the file and field."""
    if not isinstance(data, dict):
        raise _fail(name, "top level", "must be a mapping")
    if data.get("name") != name:
        raise _fail(name, "name", f"must equal the file stem {name!r}")
    truth = data.get("truth")
    if not isinstance(truth, dict) or not {"maker", "brand", "model", "device_type"} <= set(truth):
        raise _fail(name, "truth", "needs maker, brand, model and device_type")
    try:
        DeviceType(truth["device_type"])
    except ValueError as e:
        raise _fail(name, "truth.device_type", f"unknown type {truth['device_type']!r}") from e
    by_port: dict[int, Service] = {}
    for index, raw in enumerate(data.get("services") or []):
        service = _service(name, index, raw, by_port)
        if service.port in by_port:
            raise _fail(name, f"services[{index}].port", f"port {service.port} listed twice")
        by_port[service.port] = service
    if not by_port:
        raise _fail(name, "services", "a device needs at least one service")
    identity = {str(k): str(v) for k, v in (data.get("identity") or {}).items()}
    onvif = data.get("onvif")
    if onvif is not None and not isinstance(onvif, dict):
        raise _fail(name, "onvif", "must be a mapping")
    return Profile(
        name=name,
        description=str(data.get("description", "")),
        weight=float(data.get("weight", 1)),
        truth={k: (None if v is None else str(v)) for k, v in truth.items()},
        identity=identity,
        onvif=onvif,
        services=tuple(by_port.values()),
        sources=tuple(data.get("sources") or ()),
        unobservable=_unobservable(name, data.get("unobservable")),
        discovery=_discovery(name, data.get("discovery"), by_port),
    )


@cache
def load_profiles(hostile: bool = False) -> dict[str, Profile]:
    """Every profile shipped in ``coverwatch/lab/profiles``, by name; with ``hostile``, also
    the misbehaving devices of ``profiles/hostile`` (``coverwatch lab --hostile``)."""
    profiles: dict[str, Profile] = {}
    folder = resources.files("coverwatch.lab") / "profiles"
    folders = [folder, folder / "hostile"] if hostile else [folder]
    for where in folders:
        for entry in sorted(where.iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".yaml"):
                continue
            name = entry.name.removesuffix(".yaml")
            try:
                data = yaml.load(entry.read_text(encoding="utf-8"), Loader=SafeLoader)
            except yaml.YAMLError as e:
                raise KnowledgeError(f"lab profile {entry.name}: not valid YAML: {e}") from e
            profiles[name] = parse_profile(name, data)
    return profiles
