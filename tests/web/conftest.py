"""Fixtures for the web tests: a real inventory filled by a real scan of the session lab.

The scan (with the lab's credentials), a second smaller scan (so there is a diff and a
history), an audit and two tokens are made once per session into a template database; every
test module gets its own copy, so waivers granted in one module never leak into another.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from coverwatch.credentials import CredentialStore
from coverwatch.lab.runner import LabProcess
from coverwatch.pipeline import run_audit, run_scan
from coverwatch.policy.loader import load_policy
from coverwatch.sources.active import ScanOptions
from coverwatch.store import open_inventory

POLICY = """\
name: web test site
version: "5"
zones:
  - {name: ministerial-wing, cidrs: [{net}.0/28], sensitive: true}
  - {name: core-dc, cidrs: [{net}.16/29], core: true}
  - {name: car-park, cidrs: [{net}.32/27]}
unit_costs: {camera: 350, nvr: 1200}
"""


@dataclass(frozen=True)
class Estate:
    """A scanned, audited inventory and the tokens to read it."""

    db: Path
    policy: Path
    admin: str
    viewer: str
    hosts: list[str]


@pytest.fixture(scope="session")
def estate_template(
    lab: LabProcess, lab_credentials: CredentialStore, tmp_path_factory: pytest.TempPathFactory
) -> Estate:
    """The session lab scanned twice (all hosts, then ten on web ports), audited, two tokens."""
    folder = tmp_path_factory.mktemp("web-estate")
    db, policy = folder / "inventory.db", folder / "site.yaml"
    hosts = list(lab.truth)
    policy.write_text(POLICY.replace("{net}", hosts[0].rsplit(".", 1)[0]))
    inventory = open_inventory(str(db))
    try:
        run_scan(hosts, ScanOptions(credentials=lab_credentials), "hq", inventory)
        run_scan(hosts[:10], ScanOptions(ports=(80, 443, 554)), "hq", inventory)
        run_audit(inventory, load_policy(str(policy)))
        admin = inventory.create_token("alice", "admin")
        viewer = inventory.create_token("bob", "viewer")
    finally:
        inventory.close()
    return Estate(db, policy, admin, viewer, hosts)


@pytest.fixture(scope="module")
def estate(estate_template: Estate, tmp_path_factory: pytest.TempPathFactory) -> Estate:
    """A private copy of the estate for one test module."""
    copy = tmp_path_factory.mktemp("web-estate-copy") / "inventory.db"
    shutil.copyfile(estate_template.db, copy)
    return replace(estate_template, db=copy)
