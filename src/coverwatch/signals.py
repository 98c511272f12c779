"""The signal vocabulary: every observation key a probe, importer or the JSONL contract emits.

A signal is a dotted key (``http.server``) naming one fact a host said. Probes, discovery,
imports and passive capture produce them; knowledge fingerprints match them. Declaring them in
one place lets the knowledge loader refuse a fingerprint whose ``signals:`` names a key nothing
emits (a typo would otherwise silently match nothing), and lets tests check that every emitter
stays inside the vocabulary.

``FAMILIES`` are prefixes whose sub-keys are open-ended (discovery replies carry whatever fields
the device sends); a fingerprint may name ``sadp.*`` or any ``sadp.<field>``.
"""

from __future__ import annotations

from coverwatch.discovery import families

#: Exact signal keys and what each holds.
SIGNALS: dict[str, str] = {
    # identity of the host itself
    "mac": "MAC address (aa:bb:cc:dd:ee:ff); matched against the IEEE registry",
    "hostname": "a host name given with the observation (JSONL)",
    "tcp.port": "an open TCP port number",
    "tcp.ports": "a host's open TCP ports, ascending, space-separated (identify derives it)",
    "udp.port": "a UDP port the host answered or sent from (discovery, capture)",
    "tcp.banner": "greeting sent on connect by a service on a non-standard port",
    # HTTP(S)
    "http.server": "HTTP Server header",
    "http.title": "HTML <title> of the root page",
    "http.www_authenticate": "HTTP WWW-Authenticate header (realm)",
    "http.body": "first bytes of the root page body",
    "http.favicon_md5": "MD5 of /favicon.ico",
    "http.status": "HTTP status code of GET /",
    "http.location": "redirect Location of GET /",
    "http.user_agent": "User-Agent of a request the device itself sent (capture)",
    # TLS
    "tls.subject": "certificate subject (RFC 4514 text)",
    "tls.issuer": "certificate issuer (RFC 4514 text)",
    "tls.self_signed": "true when the certificate is self-signed",
    "tls.error": "why the TLS handshake failed",
    "tls.sni": "server name the device asked for in a TLS ClientHello (capture)",
    # RTSP
    "rtsp.server": "RTSP Server header",
    "rtsp.www_authenticate": "RTSP WWW-Authenticate header (realm)",
    "rtsp.describe_status": "status of DESCRIBE on the root stream",
    "rtsp.public": "RTSP Public header (methods)",
    # ONVIF (device service and WS-Discovery)
    "onvif.service": "ONVIF device service answered (operation name)",
    "onvif.endpoint": "ONVIF device service URL",
    "onvif.timezone": "GetSystemDateAndTime time zone",
    "onvif.manufacturer": "GetDeviceInformation Manufacturer",
    "onvif.model": "GetDeviceInformation Model",
    "onvif.firmware": "GetDeviceInformation FirmwareVersion",
    "onvif.serial": "GetDeviceInformation SerialNumber",
    "onvif.hardware_id": "GetDeviceInformation HardwareId",
    "onvif.mac": "GetNetworkInterfaces HwAddress",
    "onvif.error": "why an authenticated ONVIF call failed",
    "onvif.xaddrs": "WS-Discovery XAddrs",
    "onvif.types": "WS-Discovery Types",
    "onvif.scopes": "WS-Discovery Scopes (all)",
    "onvif.scope.name": "WS-Discovery scope onvif://www.onvif.org/name/...",
    "onvif.scope.hardware": "WS-Discovery scope onvif://www.onvif.org/hardware/...",
    "onvif.scope.location": "WS-Discovery scope onvif://www.onvif.org/location/...",
    "onvif.scope.type": "WS-Discovery scope onvif://www.onvif.org/type/...",
    # UPnP / SSDP
    "upnp.server": "SSDP SERVER header (OS, UPnP version, product)",
    "upnp.location": "SSDP LOCATION header",
    "upnp.st": "SSDP ST / NT header",
    "upnp.usn": "SSDP USN header",
    "upnp.manufacturer": "device description manufacturer",
    "upnp.manufacturer_url": "device description manufacturerURL",
    "upnp.model_name": "device description modelName",
    "upnp.model_number": "device description modelNumber",
    "upnp.model_description": "device description modelDescription",
    "upnp.friendly_name": "device description friendlyName",
    "upnp.serial": "device description serialNumber",
    "upnp.device_type": "device description deviceType URN",
    # SNMP
    "snmp.sysdescr": "SNMP sysDescr.0",
    "snmp.sysobjectid": "SNMP sysObjectID.0 (dotted OID)",
    "snmp.sysname": "SNMP sysName.0",
    # greetings
    "ssh.banner": "SSH identification string",
    "telnet.banner": "Telnet greeting / login prompt",
    "ftp.banner": "FTP 220 greeting",
    "sip.user_agent": "SIP User-Agent header",
    "sip.server": "SIP Server header",
    # DHCP / DNS / mDNS (capture)
    "dhcp.vendor_class": "DHCP option 60 vendor class identifier",
    "dhcp.hostname": "DHCP option 12 host name",
    "dhcp.params": "DHCP option 55 parameter request list (comma-separated codes)",
    "dns.query": "a DNS name the device looked up (capture)",
    "mdns.name": "mDNS / DNS-SD instance or host name",
    "mdns.service": "mDNS / DNS-SD service type",
    "mdns.txt": "mDNS TXT record",
    "mdns.model": "mDNS TXT model key (md=, model=)",
    "mdns.serial": "mDNS TXT serial-number key (serial=, sn=)",
    "mdns.firmware": "mDNS TXT firmware key (firmware=, fw=)",
    "mdns.hap_category": "HomeKit TXT ci= accessory category (17 IP camera, 18 video doorbell)",
    # authenticated management APIs
    "isapi.model": "Hikvision ISAPI deviceInfo model",
    "isapi.serial": "Hikvision ISAPI deviceInfo serialNumber",
    "isapi.firmware": "Hikvision ISAPI deviceInfo firmwareVersion + build",
    "isapi.mac": "Hikvision ISAPI deviceInfo macAddress",
    "isapi.device_name": "Hikvision ISAPI deviceInfo deviceName",
    "isapi.device_type": "Hikvision ISAPI deviceInfo deviceType",
    "isapi.error": "why the ISAPI call failed",
    "dahua.device_type": "Dahua magicBox getSystemInfo deviceType",
    "dahua.serial": "Dahua magicBox serialNumber",
    "dahua.firmware": "Dahua magicBox getSoftwareVersion",
    "dahua.hardware": "Dahua magicBox hardwareVersion",
    "dahua.update_serial": "Dahua magicBox updateSerial",
    "dahua.error": "why the magicBox call failed",
    # nmap import
    "nmap.service": "nmap service name",
    "nmap.product": "nmap service product",
    "nmap.version": "nmap service version",
    "nmap.extrainfo": "nmap service extra info",
    "nmap.devicetype": "nmap service device type (webcam, router, ...)",
    "nmap.ostype": "nmap service OS type",
    "nmap.cpe": "a CPE nmap attached to a service or OS match (cpe:/h:vendor:product)",
    "nmap.hostname": "host name from nmap",
    "nmap.mac_vendor": "nmap's vendor name for the MAC address",
    "nmap.os": "nmap OS match name",
    "nmap.os_class": "nmap OS class: 'vendor family type' (type: webcam, router, ...)",
    # asset register claims (weak: a claim to verify)
    "register.brand": "register's make/brand column",
    "register.maker": "register's maker column",
    "register.model": "register's model column",
    "register.site": "register's site column",
    "register.serial": "register's serial column",
    "register.hostname": "register's host name column",
}

#: Prefixes whose sub-keys are open: discovery replies name their own fields (each registered
#: discovery protocol declares its own prefixes, ``coverwatch.discovery.families``).
FAMILIES: tuple[str, ...] = ("discovery.", *families())


def is_known(key: str) -> bool:
    """True when ``key`` (or a ``prefix.*`` wildcard) belongs to the vocabulary."""
    if key in SIGNALS:
        return True
    if key.endswith(".*"):
        return key[:-1] in FAMILIES
    return any(key.startswith(prefix) and len(key) > len(prefix) for prefix in FAMILIES)
