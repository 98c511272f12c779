"""Rule kinds. A new kind is one module and one line in ``RULES``."""

from __future__ import annotations

from enum import Enum

from coverwatch.policy.interface import Rule
from coverwatch.policy.rules.covered import CoveredVendorRule, UnidentifiedVideoRule
from coverwatch.policy.rules.firmware import VulnerableFirmwareRule
from coverwatch.policy.rules.management import InsecureManagementRule
from coverwatch.policy.rules.traffic import CoreLinkageRule, EgressRule, UpnpPortMappingRule
from coverwatch.policy.rules.zones import CoreNetworkRule, SensitiveSiteRule


class RuleKind(str, Enum):
    """The rule kinds a policy can use."""

    COVERED_VENDOR = "covered-vendor"
    SENSITIVE_SITE = "sensitive-site"
    CORE_NETWORK = "core-network"
    VULNERABLE_FIRMWARE = "vulnerable-firmware"
    INSECURE_MANAGEMENT = "insecure-management"
    UNIDENTIFIED_VIDEO = "unidentified-video"
    EGRESS = "egress"
    UPNP_PORT_MAPPING = "upnp-port-mapping"
    CORE_LINKAGE = "core-linkage"


RULES: dict[RuleKind, type[Rule]] = {
    RuleKind.COVERED_VENDOR: CoveredVendorRule,
    RuleKind.SENSITIVE_SITE: SensitiveSiteRule,
    RuleKind.CORE_NETWORK: CoreNetworkRule,
    RuleKind.VULNERABLE_FIRMWARE: VulnerableFirmwareRule,
    RuleKind.INSECURE_MANAGEMENT: InsecureManagementRule,
    RuleKind.UNIDENTIFIED_VIDEO: UnidentifiedVideoRule,
    RuleKind.EGRESS: EgressRule,
    RuleKind.UPNP_PORT_MAPPING: UpnpPortMappingRule,
    RuleKind.CORE_LINKAGE: CoreLinkageRule,
}
