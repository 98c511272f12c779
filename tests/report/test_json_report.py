"""JsonReport: schema_version 2, valid against the shipped schema, version 1 keys kept."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources
from typing import Any

import jsonschema
import pytest

from coverwatch.policy.model import finding_to_json
from coverwatch.report import REPORTS, Format, ReportData
from tests.report.sample import HOSTILE, HOSTILE_DNS

V1_KEYS = {"schema_version", "generator", "generated_at", "title", "summary", "scans", "devices"}


def _schema() -> dict[str, Any]:
    text = (resources.files("coverwatch.report") / "report.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def _render(data: ReportData) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(REPORTS[Format.JSON]().render(data))
    return document


def test_report_validates_against_the_shipped_schema(data: ReportData) -> None:
    document = _render(data)
    jsonschema.validate(document, _schema())
    assert document["schema_version"] == 2
    assert set(document) == V1_KEYS | {
        "findings",
        "policy",
        "plan",
        "history",
        "traffic",
        "links",
        "filters",
    }
    assert document["devices"][2]["model"] == HOSTILE  # data, not markup, in JSON
    assert document["findings"] == [finding_to_json(f) for f in data.findings]


def test_inventory_only_report_validates(data: ReportData) -> None:
    document = _render(replace(data, findings=[], policy=None, history=[], traffic=[], links=[]))
    jsonschema.validate(document, _schema())
    assert document["policy"] is None and document["findings"] == []
    assert document["traffic"] == [] and document["links"] == []
    assert document["plan"]["sites"] == []


def test_policy_zones_waivers_plan_and_history(data: ReportData) -> None:
    document = _render(data)
    policy = document["policy"]
    assert policy["name"] == "UK sensitive sites <test>"
    zones = {z["name"]: z for z in policy["zones"]}
    assert zones["control-room"] == {
        "name": "control-room",
        "networks": ["10.0.1.0/24"],
        "sensitive": True,
        "core": False,
        "site": "hq",
    }
    assert zones["core-net"]["core"] and zones["core-net"]["site"] is None
    waivers = {w["reason"]: w for w in policy["waivers"]}
    assert waivers["Depot lease ends"]["expired"] is True
    assert waivers["Depot lease ends"]["findings"] == [
        {"site": "depot", "ip": "10.1.0.2", "rule": "covered-vendor", "status": "open"}
    ]
    assert waivers["Replacement ordered, PO 4471"]["expired"] is False
    assert waivers["Vendor tool needs telnet"]["findings"] == []
    plan = document["plan"]
    assert plan["totals"]["actions"]["replace"] == 4
    assert plan["totals"]["replacement_cost"] == 2100
    assert [s["site"] for s in plan["sites"]] == ["depot", "hq"]
    assert [p["scan_id"] for p in document["history"]] == [1, 2, 3]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("schema_version",), 1),
        (("devices",), [{"ip": "x"}]),
        (("findings", 0, "severity"), "catastrophic"),
        (("findings", 0, "action"), "burn"),
        (("findings", 10, "waiver", "expires"), "next tuesday"),
        (("policy", "zones", 0, "sensitive"), "yes"),
        (("plan", "totals", "actions", "replace"), -1),
        (("plan", "sites", 0, "devices", 0, "action"), None),
        (("history", 0, "covered"), "five"),
        (("traffic", 0, "verdict"), "probably fine"),
        (("traffic", 0, "window"), ["2026-11-22T12:00:00+00:00"]),
        (("traffic", 1, "destinations", 0, "bytes_sent"), -1),
        (("traffic", 1, "destinations", 0, "country"), "Russia"),
        (("traffic", 1, "destinations", 1, "endpoint", "match"), "guess"),
        (("traffic", 3, "port_mappings", 0, "external_port"), 70000),
        (("traffic", 0, "surprise"), 1),
        (("links", 0, "pairs"), [["10.0.0.1"]]),
    ],
)
def test_broken_documents_do_not_validate(
    data: ReportData, path: tuple[str | int, ...], value: object
) -> None:
    document = _render(data)
    target: Any = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, _schema())


@pytest.mark.parametrize("key", ["findings", "policy", "plan", "history"])
def test_new_keys_are_required(data: ReportData, key: str) -> None:
    document = _render(data)
    del document[key]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, _schema())


def test_traffic_and_links_carry_every_field(data: ReportData) -> None:
    document = _render(data)
    traffic = {e["ip"]: e for e in document["traffic"]}
    assert [e["ip"] for e in document["traffic"]] == [e.ip for e in data.traffic]
    hik = traffic["10.0.1.5"]
    assert hik["verdict"] == "unknown destination"
    assert hik["window"] == ["2026-11-22T12:00:00+00:00", "2026-11-29T12:00:00+00:00"]
    assert hik["coverage_hours"] == 167.5 and hik["flows_seen"] == 400
    assert hik["mac"] == "c0:56:e3:00:00:05" and hik["maker"] == "Hikvision"
    first = hik["destinations"][0]
    assert first["dns_name"] == HOSTILE_DNS  # data, not markup, in JSON
    assert first["endpoint"] is None and first["country"] == "RU"
    assert first["first_seen"] == "2026-11-26T16:00:00+00:00"
    assert hik["destinations"][1]["endpoint"] == {
        "id": "hik-connect",
        "category": "vendor_cloud",
        "operator": "Hikvision",
        "match": "dns_name",
        "source": "https://www.hik-connect.com",
    }
    assert hik["large_uploads"] == [
        {
            "remote_ip": "203.0.113.66",
            "dns_name": HOSTILE_DNS,
            "bytes_sent": 2_400_000_000,
            "seconds": 21_600.0,
            "mbit_per_s": 0.89,
        }
    ]
    assert traffic["10.0.0.1"]["port_mappings"][0] == {
        "device_ip": "10.0.0.1",
        "router_ip": "10.0.0.254",
        "kind": "soap-add-port-mapping",
        "at": "2026-11-22T14:00:00+00:00",
        "external_port": 8000,
        "internal_port": 80,
        "protocol": "TCP",
    }
    assert traffic["10.0.0.9"]["destinations"] == [] and traffic["10.0.0.9"]["mac"] is None
    link = document["links"][0]
    assert link["src_zone"] == "cctv-hq" and link["ports"] == ["tcp/554", "tcp/37777"]
    assert link["pairs"][0] == ["10.0.0.1", "10.0.9.7"]


def test_a_version_2_document_without_traffic_still_validates(data: ReportData) -> None:
    """Reports written before traffic existed (same schema_version) stay valid."""
    document = _render(data)
    del document["traffic"], document["links"]
    jsonschema.validate(document, _schema())
