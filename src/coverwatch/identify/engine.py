"""Attribution: weigh every signal of one host against the knowledge base.

Each matching knowledge entry is a claim (maker, brand, model, firmware, device type) with a
weight. Claims for the same value combine as independent evidence (1 - prod(1 - w)); the
strongest maker wins, and a competing maker lowers the confidence instead of being hidden.
White-label brands add claims for the makers whose firmware they carry (``oem.yaml``); the
device's own firmware evidence decides between several.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from functools import cache, lru_cache
from operator import attrgetter
from pathlib import Path
from typing import Literal

from netaddr import EUI, AddrFormatError, NotRegisteredError

from coverwatch.identify.knowledge import Fingerprint, Knowledge, OuiAlias, load_knowledge
from coverwatch.models import PORT_SIGNALS, VIDEO_TYPES, Attribution, DeviceType, Evidence

logger = logging.getLogger(__name__)

#: Below this combined weight a maker is not claimed at all: unknown is an honest answer.
MIN_MAKER_SCORE = 0.35
#: A device's own answers name its maker surely from this weight on (a maker's name as one
#: word in a banner is 0.45: no proof): then they outweigh an asset register's row, and two
#: such answers naming different makers contradict each other.
SURE_OF_MAKER = 0.5
#: The signals of an asset register's rows (``register.model``, ...): claims to verify, not
#: what the device says of itself.
_REGISTER = "register."
_SHOW = 160


def _rank(evidence: Evidence) -> int:
    """Which of two equally strong pieces of evidence of one entry to keep (higher first)."""
    if evidence.signal == "mac":
        return 2
    return 0 if evidence.signal.startswith(_REGISTER) else 1


def _combine(weights: Iterable[float]) -> float:
    remaining = 1.0
    for weight in weights:
        remaining *= 1.0 - weight
    return 1.0 - remaining


def oui_organisation(mac: str) -> str | None:
    """The IEEE registry organisation for a MAC address: netaddr's bundled registry, then the
    assignments made since its copy (``knowledge/oui-newer.txt``); within a block the IEEE
    Registration Authority keeps (or one neither lists), the smaller block of an address of 7
    or more hex digits (``knowledge/oui-blocks.txt``)."""
    digits = _HEX.sub("", mac).upper()
    return _organisation(digits) if len(digits) >= 6 else None


_HEX = re.compile(r"[^0-9A-Fa-f]")
_KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
_NEWER = _KNOWLEDGE / "oui-newer.txt"
_BLOCKS = _KNOWLEDGE / "oui-blocks.txt"
#: What netaddr names a block the IEEE divides into MA-M, MA-S and IAB blocks.
_DIVIDED = "IEEE Registration Authority"


def _organisation(digits: str) -> str | None:
    """The organisation of an address's leading upper-case hex digits (6 or more)."""
    org = _registry_org(digits[:6])
    # NOTE: some divided blocks are missing from the MA-L lists netaddr and oui-newer.txt copy
    if org is None or org == _DIVIDED:
        blocks = _read_registry(_BLOCKS)
        return blocks.get(digits[:9]) or blocks.get(digits[:7]) or org
    return org


@lru_cache(maxsize=65_536)
def _registry_org(prefix: str) -> str | None:
    # NOTE: netaddr reads its registry file on every look-up; an estate repeats a few hundred
    # prefixes, so each is looked up once per process.
    try:
        return str(EUI(prefix + "000000").oui.registration().org)
    except (AddrFormatError, NotRegisteredError, ValueError, TypeError, IndexError):
        return _read_registry(_NEWER).get(prefix)


@cache
def _read_registry(path: Path) -> dict[str, str]:
    """A ``PREFIX<TAB>Organization`` file: prefix -> organisation (read once, when first needed)."""
    registry: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:  # an installation without it still has netaddr's registry
        logger.warning("cannot read %s: %s", path, e)
        return registry
    for line in text.splitlines():
        prefix, tab, org = line.partition("\t")
        if tab and not line.startswith("#"):
            registry[prefix] = org
    return registry


class _Claims:
    """Evidence so far. Each knowledge entry counts once, however many ports repeat it: the
    same page served on 80 and 443 is one piece of evidence, not two independent ones."""

    def __init__(self) -> None:
        self.by_entry: dict[str, tuple[Evidence, DeviceType | None]] = {}
        self.models: dict[tuple[str, str], float] = {}
        self.firmware: dict[tuple[str, str], float] = {}
        """(entry, value) -> weight: an entry naming the same model twice says it once."""

    def add(self, evidence: Evidence, device_type: DeviceType | None = None) -> None:
        """Keep the strongest evidence of each entry; of equal ones, the MAC seen on the wire,
        then the device's own answer before an asset register's row saying the same."""
        known = self.by_entry.get(evidence.matched)
        if (
            known is None
            or evidence.weight > known[0].weight
            or (evidence.weight == known[0].weight and _rank(evidence) > _rank(known[0]))
        ):
            self.by_entry[evidence.matched] = (evidence, device_type)

    @staticmethod
    def name(table: dict[tuple[str, str], float], said: tuple[_Named, ...]) -> None:
        for weight, value, entry in said:
            table[entry, value] = max(weight, table.get((entry, value), 0.0))

    @property
    def evidence(self) -> list[Evidence]:
        return [e for e, _ in self.by_entry.values()]

    def scores(self, key: Literal["maker", "brand"]) -> dict[str, float]:
        """Combined weight per claimed maker or brand (types: ``_device_type``)."""
        return self._scores(key, self.evidence)

    def device_scores(self) -> dict[str, float]:
        """Combined weight per maker the device's own answers claim: an asset register's rows
        left out, and the OEM claims of a brand only the register names."""
        own = [e for e in self.evidence if not e.signal.startswith(_REGISTER)]
        brands = {e.brand for e in own if e.brand}
        return self._scores("maker", [e for e in own if e.signal != "brand" or e.value in brands])

    @staticmethod
    def _scores(key: Literal["maker", "brand"], evidence: Iterable[Evidence]) -> dict[str, float]:
        weights: dict[str, list[float]] = defaultdict(list)
        for e in evidence:
            value = e.maker if key == "maker" else e.brand
            if value:
                weights[value].append(e.weight)
        return {k: _combine(v) for k, v in weights.items()}


#: Signals naming an internet endpoint the device itself contacted (capture): the endpoint's
#: operator is evidence of the device's maker. Below the maker threshold on purpose: a phone
#: running the vendor's app or an admin's PC reaches the same cloud, so a look-up only ever
#: supports other evidence (a registry prefix, a host name, a banner).
_ENDPOINT_SIGNALS = frozenset({"dns.query", "tls.sni"})
_ENDPOINT_WEIGHT = 0.3
#: Signals in which a device describes itself: a maker or brand named there as a whole word
#: ("TP-LINK Wireless Router Archer C7", "Linux, Cisco Systems, Inc WAP561") is evidence of it,
#: weaker than a maker-specific string and only when no specific entry already said so.
_SELF_DESCRIBED = frozenset(
    {
        "http.title",
        "http.server",
        "http.www_authenticate",
        "rtsp.server",
        "rtsp.www_authenticate",
        "snmp.sysdescr",
        "upnp.manufacturer",
        "upnp.model_description",
        "upnp.friendly_name",
        "upnp.server",
        "onvif.manufacturer",
        "onvif.scope.name",
        "mdns.name",
        "ssh.banner",
        "telnet.banner",
        "ftp.banner",
        "tls.subject",
        "sip.user_agent",
        "dhcp.vendor_class",
        "nmap.product",
        "nmap.os",
    }
)
_NAMED_WEIGHT = 0.45


#: One piece of evidence with the device type it claims.
_Claim = tuple[Evidence, DeviceType | None]
#: A model or firmware string an entry read: (weight, value, entry id).
_Named = tuple[float, str, str]
#: What one (signal, value) says: its claims, and model / firmware strings with their weights.
_Said = tuple[tuple[_Claim, ...], tuple[_Named, ...], tuple[_Named, ...]]
_NOTHING: _Said = ((), (), ())
#: Remembered (signal, value) -> what it says; evidence is immutable, so it is shared. Values
#: longer than ``_SAID_VALUE`` (a page body, a hostile megabyte) are read but not remembered.
_SAID_CACHE = 65_536
_SAID_VALUE = 4096


def _match_signals(claims: _Claims, signals: Iterable[tuple[str, str]], kb: Knowledge) -> None:
    remembered: dict[tuple[str, str], _Said] = kb._index.setdefault("said", {})
    for signal, value in signals:
        if not value:
            continue
        said = remembered.get((signal, value))
        if said is None:
            said = _read(signal, value, kb)
            if len(value) <= _SAID_VALUE:  # long values are rarely repeated: not kept
                if len(remembered) >= _SAID_CACHE:
                    remembered.clear()
                remembered[(signal, value)] = said
        found, models, firmware = said
        for evidence, device_type in found:
            claims.add(evidence, device_type)
        claims.name(claims.models, models)
        claims.name(claims.firmware, firmware)


def _read(signal: str, value: str, kb: Knowledge) -> _Said:
    """Everything one observation says, against the whole knowledge base."""
    if signal == "mac":
        return _read_mac(value, kb)
    said = _read_text(signal, value, kb)
    if signal == "onvif.scopes":
        # A WS-Discovery scope list as one string (an import, the JSONL contract) says what
        # its parts say: name, hardware, location and MAC scopes, as discovery splits them.
        from coverwatch.probes.wsdiscovery import scope_signals

        parts = scope_signals(value.split())
        said = _merge(said, *(_read(k, v, kb) for k, values in parts.items() for v in values))
    return said


def _merge(*said: _Said) -> _Said:
    found = tuple(c for s in said for c in s[0])
    models = tuple(m for s in said for m in s[1])
    firmware = tuple(f for s in said for f in s[2])
    return (found, models, firmware) if found else _NOTHING


def _read_text(signal: str, value: str, kb: Knowledge) -> _Said:
    found: list[_Claim] = []
    models: list[_Named] = []
    firmware: list[_Named] = []
    if signal in _ENDPOINT_SIGNALS:
        found += _read_endpoint(signal, value, kb)
    named: set[str] = set()
    shown = value[:_SHOW]
    for fp, groups in kb.matches(signal, value):
        if "mac" in groups:  # the device names its own MAC address (a realm that is its MAC)
            found += _registry_claims(groups["mac"], kb, signal, shown, fp)
            continue
        maker, brand = fp.maker, fp.brand
        if "brand" in groups:  # a free-text brand (asset register): resolve it by name
            named_maker, brand = kb.resolve_brand(groups["brand"])
            maker = named_maker or maker
        evidence = Evidence(
            signal, shown, f"fp:{fp.id}", fp.source, maker, brand, fp.weight, component=fp.component
        )
        found.append((evidence, fp.device_type))
        named.update(n for n in (maker, brand) if n)
        if "model" in groups:
            models.append((fp.weight, groups["model"].strip(), fp.id))
        if "firmware" in groups:
            firmware.append((fp.weight, groups["firmware"].strip(), fp.id))
    if signal in _SELF_DESCRIBED:
        for name, maker, brand in kb.named_in(value):
            if (maker or brand) in named:
                continue  # a specific entry already read this name in this value
            source = f"the device names {name!r} itself; makers.yaml / oem.yaml list the name"
            matched = f"name:{maker or brand}"
            found.append(
                (Evidence(signal, shown, matched, source, maker, brand, _NAMED_WEIGHT), None)
            )
    return (tuple(found), tuple(models), tuple(firmware)) if found else _NOTHING


def _read_endpoint(signal: str, name: str, kb: Knowledge) -> list[_Claim]:
    from coverwatch.traffic.endpoints import maker_endpoint_for_name

    found = maker_endpoint_for_name(name)
    maker = kb.maker_named(found.operator) if found else None
    if found is None or maker is None:
        return []
    matched = f"endpoint:{found.id}"
    evidence = Evidence(signal, name[:_SHOW], matched, found.source, maker, None, _ENDPOINT_WEIGHT)
    return [(evidence, None)]


_MAC_SEPARATORS = re.compile(r"[:\-. ]")
_TWELVE_HEX = re.compile(r"[0-9a-fA-F]{12}")


def _unicast_mac(text: str) -> str | None:
    """The 12 hex digits of a globally administered unicast MAC address, or None: a random or
    multicast address (RFC 4122 4.5 random UUID nodes, RFC 7042 2.1) names no registry block."""
    digits = _MAC_SEPARATORS.sub("", text)
    if not _TWELVE_HEX.fullmatch(digits) or int(digits[:2], 16) & 0b11:
        return None
    return digits.lower()


def _registry_entry(mac: str, kb: Knowledge) -> tuple[str, OuiAlias | None] | None:
    """(IEEE organisation, its ``oui.yaml`` entry or None) of a unicast, globally administered
    MAC address; None when the address is in no registry block."""
    address = _unicast_mac(mac)
    org = _organisation(address.upper()) if address else None
    return (org, kb.oui_alias(org)) if org else None


def _oui_key(alias: OuiAlias) -> str:
    """The evidence key of an organisation's claim: one per ``oui.yaml`` entry."""
    return f"oui:{alias.pattern.pattern}"


def _drop_contradicted(claims: _Claims, signals: list[tuple[str, str]], kb: Knowledge) -> None:
    """A MAC a string states (a realm, a UUID) is the device's own only if the MAC seen on the
    wire agrees: when the host's observed MAC belongs to another organisation, the answer came
    from another box (a router forwarding the port, a proxy) and its stated MAC says nothing."""
    stated = [
        key
        for key, (evidence, _) in claims.by_entry.items()
        if key.startswith("oui:") and evidence.signal != "mac"
    ]
    if not stated:  # most hosts: nothing to check
        return
    observed = set()
    for signal, value in signals:
        found = _registry_entry(value, kb) if signal == "mac" else None
        if found:
            org, alias = found
            observed.add(_oui_key(alias) if alias else f"org:{org}")
    if observed:
        for key in stated:
            if key not in observed:
                del claims.by_entry[key]


#: A host with more open ports than this is a server, or accepts every connection (a tarpit, a
#: firewall answering for the addresses behind it): its ports name nobody. Camera firmware opens
#: a handful; a recorder's per-channel ports stay below it.
_MAX_DEVICE_PORTS = 24
#: A port entry at least this strong is a vendor's private protocol (Dahua's 37777, XM's 34567).
_PRIVATE_PORT = 0.3


def _open_ports(signals: list[tuple[str, str]]) -> list[int]:
    """The host's open TCP ports, ascending; values that are no port number as a scanner
    writes one (a hostile import: "0554", "99999", "5e4") are left out."""
    values = {value for signal, value in signals if signal == "tcp.port"}
    numbers = {
        int(v) for v in values if v.isascii() and v.isdigit() and v[0] != "0" and len(v) <= 5
    }
    return sorted(n for n in numbers if n <= 65535)


def _could_be(evidence: Evidence, kb: Knowledge) -> set[str]:
    """The makers one piece of evidence points to (a brand: its OEM makers)."""
    if evidence.maker:
        return {evidence.maker}
    if evidence.brand:
        return set(_oem_makers(kb, evidence.brand) or (evidence.brand,))
    return set()


def _weigh_ports(claims: _Claims, kb: Knowledge, count: int) -> None:
    """Open ports are the weakest evidence of who made a host, and give way:

    - a host with more than ``_MAX_DEVICE_PORTS`` open ports, or with two vendors' private
      protocol ports (no firmware listens on both Dahua's and XM's), is not a device whose
      ports say anything: all its port evidence, types included, is dropped;
    - a port claim for a maker the rest of the evidence does not name gives way to what the
      host itself says (its banners, its MAC): a router forwarding 37777 to a recorder behind
      it answers with the router's own MAC and pages."""
    ports = [(k, e) for k, (e, _) in claims.by_entry.items() if e.signal in PORT_SIGNALS]
    if not ports:
        return
    private: set[str] | None = None
    for _, evidence in ports:
        if evidence.weight >= _PRIVATE_PORT and (makers := _could_be(evidence, kb)):
            private = makers if private is None else private & makers
    if count > _MAX_DEVICE_PORTS or private == set():
        for key, _ in ports:
            del claims.by_entry[key]
        return
    said: set[str] = set()
    for evidence, _ in claims.by_entry.values():
        if evidence.signal not in PORT_SIGNALS:
            said |= _could_be(evidence, kb)
    if said:
        for key, evidence in ports:
            makers = _could_be(evidence, kb)
            if makers and not makers & said:
                del claims.by_entry[key]


def _read_mac(mac: str, kb: Knowledge) -> _Said:
    found = _registry_claims(mac, kb, "mac", None, None)
    return (tuple(found), (), ()) if found else _NOTHING


def _registry_claims(
    mac: str, kb: Knowledge, signal: str, shown: str | None, fp: Fingerprint | None
) -> list[_Claim]:
    """What a MAC address's IEEE registry organisation claims (``oui.yaml``). For an address a
    string names (``fp`` captured it as ``(?P<mac>...)``) the claim keeps the observed MAC's
    key, so the same prefix seen twice is one piece of evidence, at the weaker of the entry's
    and the organisation's weights."""
    org, alias = _registry_entry(mac, kb) or ("", None)
    if alias is None:
        return []
    source, weight = alias.source, alias.weight
    if fp is not None:
        source, weight = f"{fp.source}; {alias.source}", min(fp.weight, alias.weight)
    evidence = Evidence(
        signal,
        shown if shown is not None else f"{mac} ({org})",
        _oui_key(alias),
        source,
        alias.maker,
        alias.brand,
        weight,
        component=alias.component,
    )
    return [(evidence, fp.device_type if fp else None)]


def _apply_oem(claims: _Claims, kb: Knowledge, brands: dict[str, float]) -> None:
    for brand, score in brands.items():
        entry = kb.oem_brand(brand)
        if entry is None:
            continue
        strength = score * entry.weight / len(entry.makers)
        for maker in entry.makers:
            claims.add(
                Evidence(
                    "brand",
                    brand,
                    f"oem:{entry.brand}:{maker}",
                    entry.source,
                    maker,
                    None,
                    strength,
                )
            )


def _best(scores: dict[str, float]) -> tuple[str | None, float, float]:
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    if not ranked:
        return None, 0.0, 0.0
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    return ranked[0][0], ranked[0][1], runner_up


def _pick(values: dict[tuple[str, str], float]) -> str | None:
    if not values:
        return None
    totals: dict[str, float] = defaultdict(float)
    for (_, value), weight in values.items():
        totals[value] += weight
    return max(totals.items(), key=lambda kv: (kv[1], len(kv[0])))[0]


def attribute(signals: Iterable[tuple[str, str]], kb: Knowledge | None = None) -> Attribution:
    """Attribute one host from its ``(signal, value)`` pairs."""
    kb = kb or load_knowledge()
    claims = _Claims()
    signals = list(signals)
    keys = {signal for signal, _ in signals}
    if "tcp.ports" in keys:  # identify's own to derive
        signals = [(signal, value) for signal, value in signals if signal != "tcp.ports"]
    # A self-signed certificate's issuer is its subject (RFC 5280 6.1): the device's own words.
    if "tls.subject" not in keys and ("tls.self_signed", "true") in signals:
        signals += [("tls.subject", v) for k, v in signals if k == "tls.issuer"]
    ports = _open_ports(signals)
    if 1 < len(ports) <= _MAX_DEVICE_PORTS:
        # All open ports as one value ("80 443 554 37777"): an entry can name a default set.
        signals.append(("tcp.ports", " ".join(map(str, ports))))
    _match_signals(claims, signals, kb)
    _drop_contradicted(claims, signals, kb)
    if ports:
        _weigh_ports(claims, kb, len(ports))
    # NOTE: OEM claims name makers, never brands: the brand scores are the same after them.
    all_brands = claims.scores("brand")
    _apply_oem(claims, kb, all_brands)
    scores = claims.scores("maker")
    maker, score, runner_up = _best(scores)
    if any(k.startswith(_REGISTER) for k in keys):
        own = claims.device_scores()
        device_maker, device_score, _ = _best(own)
        if device_maker and maker not in own and device_score >= SURE_OF_MAKER:
            # An asset register's row outweighed what the device surely says of itself: a
            # claim to verify loses to the device and counts against its maker's confidence.
            maker, score = device_maker, scores[device_maker]
            runner_up = max(v for k, v in scores.items() if k != maker)
    if score < MIN_MAKER_SCORE:
        maker, score = None, 0.0
    brand_scores = all_brands
    if maker:
        # A brand only stands if the maker makes it: its OEM entry lists the maker or it is
        # the maker's own name. Otherwise it is a conflicting claim, not the device's brand.
        brand_scores = {
            b: s
            for b, s in all_brands.items()
            if b == maker or maker in (_oem_makers(kb, b) or (b,))
        }
    # A dropped brand (an asset register's "Honeywell" on Hikvision firmware) disagrees with
    # the evidence: it is flagged and counts against the confidence like a competing maker.
    dropped = set(all_brands) - set(brand_scores)
    runner_up = max([runner_up, *(all_brands[b] for b in dropped)])
    confidence = score * score / (score + runner_up) if maker else 0.0
    brand, _, _ = _best(brand_scores)
    dtype = _device_type(claims, maker, kb)
    entity = kb.covered_entity(maker, brand)
    covered = None
    if entity and (not entity.applies_to or dtype is None or dtype in entity.applies_to):
        covered = entity.name
    evidence = tuple(
        _flag_conflict(e, maker, dropped)
        for e in sorted(claims.evidence, key=attrgetter("weight"), reverse=True)
    )
    return Attribution(
        maker,
        brand,
        _pick(claims.models),
        _pick(claims.firmware),
        dtype,
        covered,
        round(confidence, 3),
        evidence,
        _covered_component(claims, kb) if covered is None else None,
    )


def contradicts(a: Attribution, b: Attribution) -> bool:
    """True when ``a`` and ``b`` cannot be one device's: each names its maker with at least
    ``SURE_OF_MAKER`` from what the device said (not from open ports alone), the makers differ,
    and neither's evidence says anything for the other's maker. A white label is one device
    with its maker ("LTS" answers carry ``oem.yaml``'s claim for Hikvision), and a device that
    answered as both before is one device answering as both."""
    if not (a.maker and b.maker) or a.maker == b.maker:
        return False
    if min(a.confidence, b.confidence) < SURE_OF_MAKER:
        return False
    if a.named_by_ports_only or b.named_by_ports_only:
        return False
    return not any(e.maker == b.maker for e in a.evidence) and not any(
        e.maker == a.maker for e in b.evidence
    )


def _device_type(claims: _Claims, maker: str | None, kb: Knowledge) -> DeviceType | None:
    """The best-supported type. Type claims of evidence for another maker do not count (a
    competing maker's "camera" string says nothing about this device); with no type claim,
    a maker whose own firmware or hardware is in evidence lends its usual type (a maker that
    makes only cameras and recorders: camera), as a weak claim in the evidence list."""
    weights: dict[DeviceType, list[float]] = defaultdict(list)
    specific_camera: list[float] = []
    for evidence, device_type in claims.by_entry.values():
        if device_type and not (evidence.maker and maker and evidence.maker != maker):
            weights[device_type].append(evidence.weight)
            if device_type is DeviceType.CAMERA and (evidence.maker or evidence.brand):
                specific_camera.append(evidence.weight)
    if weights:
        scores = {t: _combine(w) for t, w in weights.items()}
        best, _, _ = _best({t.value: score for t, score in scores.items()})
        chosen = DeviceType(best) if best else None
        # Vendor-neutral camera evidence (ONVIF, RTSP) says "a video device": NVRs, DVRs and
        # encoders speak the same protocols, so it never outvotes the device's own recorder
        # (or encoder, intercom) claim; only maker-specific camera evidence can.
        rivals = {t: v for t, v in scores.items() if t in VIDEO_TYPES and t is not chosen}
        if chosen is DeviceType.CAMERA and rivals:
            rival, score = max(rivals.items(), key=lambda kv: kv[1])
            if score >= 0.5 and score > _combine(specific_camera):
                chosen = rival
        return chosen
    info = kb.maker_info(maker)
    if info is None or info.default_type is None:
        return None
    # The maker's own evidence: its firmware or hardware, or a brand of its that the device
    # itself shows (an OEM claim); never an asset register's word alone.
    shown = {e.brand for e in claims.evidence if e.brand and not e.signal.startswith(_REGISTER)}
    own = [
        e
        for e in claims.evidence
        if e.maker == maker
        and not e.signal.startswith(_REGISTER)
        and (e.signal != "brand" or e.value in shown)
    ]
    if not own:
        return None
    claims.add(
        Evidence(
            own[0].signal,
            own[0].value,
            f"maker-type:{maker}",
            info.source,
            maker,
            None,
            0.2,
        ),
        info.default_type,
    )
    return info.default_type


def _covered_component(claims: _Claims, kb: Knowledge) -> str | None:
    """The covered entity owning a component the evidence points to (HiSilicon: Huawei)."""
    for evidence in claims.evidence:
        if evidence.component:
            entity = kb.component_owner(evidence.component)
            if entity is not None:
                return f"{entity.name} ({evidence.component})"
    return None


def _oem_makers(kb: Knowledge, brand: str) -> tuple[str, ...] | None:
    entry = kb.oem_brand(brand)
    return entry.makers if entry else None


def _flag_conflict(evidence: Evidence, maker: str | None, dropped: set[str]) -> Evidence:
    if (evidence.maker and maker and evidence.maker != maker) or (
        not evidence.maker and evidence.brand in dropped
    ):
        return Evidence(
            evidence.signal,
            evidence.value,
            evidence.matched,
            evidence.source,
            evidence.maker,
            evidence.brand,
            evidence.weight,
            True,
            evidence.component,
        )
    return evidence
