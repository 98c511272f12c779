"""Established non-PRC makers: real strings -> maker and device type.

Every row is a string a real device (or its maker's own documentation) showed in a public source,
cited in the comment above it; none comes from the lab profiles. Negative rows check that generic
web servers name no maker, that a maker's network gear and phones are not called cameras, and that
look-alike model numbers of another maker are not claimed.
"""

from __future__ import annotations

from typing import Final

import pytest

from coverwatch.identify import attribute
from coverwatch.models import DeviceType

#: The expectation does not pin this field.
ANY: Final = "<any>"

CASES: list[tuple[list[tuple[str, str]], object, object]] = [
    # --- Axis ---------------------------------------------------------------------------------
    # bookstack.bluecrow.net/books/application-and-device-behaviors/page/axis-cameras: mDNS answer
    # of an AXIS M2026-LE Mk II (firmware 8.40.3).
    (
        [
            ("mdns.name", "AXIS M2026-LE Mk II - B8A44F0A98A1"),
            ("mdns.service", "_axis-video._tcp.local"),
        ],
        "Axis",
        DeviceType.CAMERA,
    ),
    # github.com/GuilhermeC18/node-onvif/issues/40: 401 of an Axis camera's snapshot URL.
    (
        [("http.www_authenticate", 'Digest realm="AXIS_WS_ACCC8E494578", algorithm=MD5')],
        "Axis",
        DeviceType.CAMERA,
    ),
    # github.com/home-assistant/core/issues/46815: VAPIX root.Brand of an AXIS P3344.
    (
        [
            (
                "http.body",
                "root.Brand.Brand=AXIS\nroot.Brand.ProdFullName=AXIS P3344 Fixed Dome Network "
                "Camera\nroot.Brand.ProdShortName=AXIS P3344\nroot.Brand.ProdType=Network Camera",
            )
        ],
        "Axis",
        DeviceType.CAMERA,
    ),
    # manualshelf.com (AXIS 2400+/2401+ Video Server admin manual): an Axis video encoder.
    ([("http.title", "AXIS 2400+ Video Server")], "Axis", DeviceType.ENCODER),
    # help.axis.com/sv-se/axis-i7020: AXIS I7020 Network Intercom.
    ([("upnp.model_description", "AXIS I7020 Network Intercom")], "Axis", DeviceType.INTERCOM),
    # --- Hanwha Vision / Samsung Techwin -------------------------------------------------------
    # github.com/Ullaakut/cameradar/issues/199: RTSP realm of Hanwha/Samsung cameras.
    ([("rtsp.www_authenticate", 'Digest realm="iPOLiS", nonce="BA2B"')], "Hanwha Vision", ANY),
    # github.com/CamioCam/rtsp/issues/196: Hanwha XNV-8080R.
    ([("onvif.model", "XNV-8080R")], "Hanwha Vision", DeviceType.CAMERA),
    # github.com/CamioCam/rtsp/issues/69: Samsung Techwin SNC-4241BE (digits after SNC-).
    ([("onvif.model", "SNC-4241BE")], "Hanwha Vision", DeviceType.CAMERA),
    # github.com/CamioCam/rtsp/pull/70: Samsung Techwin SNH-V6414BN.
    ([("upnp.model_name", "SNH-V6414BN")], "Hanwha Vision", DeviceType.CAMERA),
    # --- Bosch -------------------------------------------------------------------------------
    # github.com/homebridge-plugins/homebridge-camera-ffmpeg/issues/1248: TINYON IP 2000 WI.
    (
        [("onvif.manufacturer", "Bosch"), ("onvif.model", "TINYON IP 2000 WI")],
        "Bosch",
        DeviceType.CAMERA,
    ),
    # keenfinity.atlassian.net (VideoJet Multi 4000 / VIP-X16-XF-E encoders).
    ([("onvif.model", "VIDEOJET multi 4000")], "Bosch", DeviceType.ENCODER),
    # easymanua.ls/bosch/divar-2000: DIVAR 3000 recorder.
    ([("http.title", "DIVAR 3000")], "Bosch", DeviceType.DVR),
    # --- Sony / Canon / i-PRO ------------------------------------------------------------------
    # github.com/CamioCam/rtsp/issues/154: Sony SNC-EM632R.
    ([("onvif.manufacturer", "Sony"), ("onvif.model", "SNC-EM632R")], "Sony", DeviceType.CAMERA),
    # manualslib.com (Sony SNC-M3W user manual).
    ([("upnp.model_name", "SNC-M3W")], "Sony", DeviceType.CAMERA),
    # manualowl.com (Canon VB-M640VE manual).
    ([("http.title", "Canon VB-M640VE")], "Canon", DeviceType.CAMERA),
    # github.com/CamioCam/rtsp/issues/221: Panasonic WV-S3531L.
    (
        [("onvif.manufacturer", "Panasonic"), ("onvif.model", "WV-S3531L")],
        "i-PRO",
        DeviceType.CAMERA,
    ),
    # github.com/CamioCam/rtsp/issues/205: Panasonic encoder WJ-GXE500.
    ([("onvif.model", "WJ-GXE500")], "i-PRO", DeviceType.ENCODER),
    # --- Vivotek / Mobotix / FLIR / IQinVision -------------------------------------------------
    # github.com/mcw0/PoC (Vivotek advisory): FD8166A-N, FE8174_v2.
    ([("onvif.model", "FD8166A-N")], "Vivotek", DeviceType.CAMERA),
    ([("onvif.model", "FE8174_v2")], "Vivotek", DeviceType.CAMERA),
    # github.com/CamioCam/rtsp/issues/72: Vivotek CC8130.
    ([("onvif.manufacturer", "VIVOTEK"), ("onvif.model", "CC8130")], "Vivotek", DeviceType.CAMERA),
    # A MOBOTIX camera's own help page (128.243.66.90/help/lang/de/help?privacymode).
    (
        [("http.body", "© 2001-2017 MOBOTIX AG, Germany · http://www.mobotix.com/")],
        "Mobotix",
        DeviceType.CAMERA,
    ),
    # github.com/home-assistant/home-assistant.io/issues/35794: Mobotix MJPEG URL.
    (
        [("http.body", '<img src="/cgi-bin/faststream.jpg?stream=full">')],
        "Mobotix",
        DeviceType.CAMERA,
    ),
    # github.com/vicmaeg/onvif-discovery/issues/17: WS-Discovery scopes of a FLIR CM-6204.
    (
        [
            (
                "onvif.scopes",
                "onvif://www.onvif.org/hardware/CM-6204-11-I "
                "onvif://www.onvif.org/manufacturer/FLIR%20Systems "
                "onvif://www.onvif.org/manufacturer/DVTel",
            ),
            ("onvif.scope.hardware", "CM-6204-11-I"),
        ],
        "Teledyne FLIR",
        DeviceType.CAMERA,
    ),
    # github.com/JayGoldberg/iqmogo (iqmotion-examples.md): an IQeye's Server header.
    ([("http.server", "IQinVision Embedded 1.0")], "IQinVision", DeviceType.CAMERA),
    # --- GeoVision / AVTECH / ACTi / Arecont ---------------------------------------------------
    # github.com/CamioCam/rtsp/issues/175: GeoVision GV-VS2400 video server.
    ([("upnp.model_name", "GV-VS2400")], "GeoVision", DeviceType.ENCODER),
    # github.com/mcw0/PoC (GeoVision advisory): GV-BX1500 camera and its /geo-cgi/ CGIs.
    ([("onvif.model", "GV-BX1500")], "GeoVision", DeviceType.CAMERA),
    ([("http.body", '<a href="/ssi.cgi/FirmwareUpdate.htm">')], "GeoVision", DeviceType.CAMERA),
    # github.com/mcw0/PoC/blob/master/AVTECH-IPCP-RCE.py: AVTECH DVR/NVR/IPC Server header.
    ([("http.server", "Linux/2.x UPnP/1.0 Avtech/1.0")], "AVTECH", DeviceType.CAMERA),
    # github.com/EliasKotlyar/Xiaomi-Dafang-Hacks/issues/1610: AVTECH AVZ207 DVR.
    ([("register.model", "AVTECH AVZ207")], "AVTECH", DeviceType.DVR),
    # github.com/ch-bas/cctv-camera-database/issues/3: ACTi KCM-5611.
    ([("onvif.model", "KCM-5611")], "ACTi", DeviceType.CAMERA),
    # github.com/CamioCam/rtsp/issues/56: Arecont Vision AV12186DN.
    ([("onvif.model", "AV12186DN")], "Arecont Vision", DeviceType.CAMERA),
    # --- Avigilon / Pelco / Motorola Solutions -------------------------------------------------
    # github.com/ch-bas/cctv-camera-database/issues/251: Avigilon 5.0C-H5A-DO1-IR.
    ([("onvif.model", "5.0C-H5A-DO1-IR")], "Avigilon", DeviceType.CAMERA),
    # github.com/CamioCam/rtsp/issues/84: Avigilon encoder ENC-4P-H264.
    ([("onvif.model", "ENC-4P-H264")], "Avigilon", DeviceType.ENCODER),
    # manuals.online (Avigilon HD Network Video Recorder HD-NVR4-STD-16TB).
    ([("register.model", "HD-NVR4-STD-16TB")], "Avigilon", DeviceType.NVR),
    # github.com/home-assistant/core/issues/90213: Pelco Spectra IV over ONVIF.
    ([("onvif.manufacturer", "Pelco"), ("onvif.model", "Spectra IV")], "Pelco", DeviceType.CAMERA),
    # github.com/ch-bas/cctv-camera-database/issues/251: Sarix Value bullet IBV532-1ER.
    ([("onvif.model", "IBV532-1ER")], "Pelco", DeviceType.CAMERA),
    # manualshelf.com (MOTOTRBO SLR 1000 Repeater installation manual).
    ([("snmp.sysdescr", "MOTOTRBO SLR 1000 Repeater")], "Motorola Solutions", DeviceType.RADIO),
    # --- Recorders and VMS ---------------------------------------------------------------------
    # github.com/Ostorlab/agent_asteroid/pull/162: NUUO NVRmini root page title.
    ([("http.title", "NUUO Network Video Recorder Login")], "Nuuo", DeviceType.NVR),
    # github.com/rapid7/metasploit-framework/pull/7180: NUUO NVRsolo.
    ([("upnp.model_name", "NVRsolo")], "Nuuo", DeviceType.NVR),
    # manualshive.com (IDIS DR-6100P series NVR operation manual).
    ([("upnp.model_name", "DR-6116P")], "IDIS", DeviceType.NVR),
    # github.com/CamioCam/rtsp/pull/8: Digital Watchdog VMAX IP Plus NVR.
    ([("http.title", "VMAX IP Plus")], "Digital Watchdog", DeviceType.NVR),
    # scribd.com (Genetec Security Center guide: Streamvault is a Genetec product).
    ([("http.title", "Genetec Streamvault")], "Genetec", DeviceType.NVR),
    # support.een.com (Eagle Eye Bridges/CMVR).
    ([("http.title", "Eagle Eye CMVR")], "Eagle Eye Networks", DeviceType.NVR),
    # --- Cloud-managed ------------------------------------------------------------------------
    # help.verkada.com/en/articles/4048220: names Verkada cameras reach.
    ([("dns.query", "time.control.verkada.com")], "Verkada", DeviceType.CAMERA),
    # documentation.meraki.com (Meraki MV cameras: MV12N).
    ([("register.model", "Meraki MV12N")], "Cisco Meraki", DeviceType.CAMERA),
    # --- Ubiquiti: cameras and recorders, and network gear that is not video -------------------
    # github.com/CamioCam/rtsp/issues/168: UniFi UVC G3.
    ([("upnp.model_name", "UVC G3")], "Ubiquiti", DeviceType.CAMERA),
    # github.com/keshavdv/unifi-cam-proxy/issues/20: UniFi G3 Instant.
    ([("register.model", "UniFi G3 Instant")], "Ubiquiti", DeviceType.CAMERA),
    # github.com/danielfernau/unifi-protect-video-downloader/issues/206: footage on a UNVR.
    ([("register.model", "UNVR")], "Ubiquiti", DeviceType.NVR),
    # github.com/freifunk-gluon/gluon/issues/689: UniFi AP AC reports 'Model: UAP-ACv2'.
    ([("snmp.sysdescr", "UAP-ACv2 3.3.19.4015")], "Ubiquiti", DeviceType.ACCESS_POINT),
    # github.com/netbox-community/devicetype-library/pull/450: USW-Lite-8-PoE.
    ([("register.model", "USW-Lite-8-PoE")], "Ubiquiti", DeviceType.SWITCH),
    # github.com/dim13/unifi/pull/10: UniFi Switch 8 POE-60W model code US8P60.
    ([("snmp.sysdescr", "US8P60")], "Ubiquiti", DeviceType.SWITCH),
    # github.com/netbox-community/devicetype-library/pull/1042: UDM-PRO-SE.
    ([("register.model", "UDM-PRO-SE")], "Ubiquiti", DeviceType.ROUTER),
    # --- Grandstream: cameras, encoders and phones ---------------------------------------------
    # github.com/CamioCam/rtsp/issues/67: GXV3674_HD_VF camera.
    ([("upnp.model_name", "GXV3674_HD_VF")], "Grandstream", DeviceType.CAMERA),
    # github.com/CamioCam/rtsp/issues/58: GXV3504 (four-channel video encoder).
    ([("upnp.model_name", "GXV3504")], "Grandstream", DeviceType.ENCODER),
    # github.com/2600hz/monster-ui/pull/817: GRP2614 and GXV3350 are phones.
    ([("sip.user_agent", "Grandstream GRP2614 1.0.5.15")], "Grandstream", DeviceType.PHONE),
    ([("register.model", "GXV3350")], "Grandstream", DeviceType.PHONE),
    # --- Intercoms, conferencing cameras, encoders ---------------------------------------------
    # easymanua.ls/2n/ip-series (Configuration manual for 2N IP intercoms).
    ([("http.title", "2N IP Force")], "2N", DeviceType.INTERCOM),
    # manualsfile.com (2N Clip indoor answering unit).
    ([("register.model", "2N Clip")], "2N", DeviceType.INTERCOM),
    # manualslib.com (Vaddio RoboSHOT 12 manual).
    ([("http.title", "Vaddio RoboSHOT 12 USB")], "Vaddio", DeviceType.CAMERA),
    # doc.haivision.com (Makito X4 encoder).
    ([("http.title", "Haivision Makito X4")], "Haivision", DeviceType.ENCODER),
    # manualslib.com (VBrick 9000 Encoder admin guide).
    ([("http.title", "VBrick 9000 Encoder")], "VBrick", DeviceType.ENCODER),
    # netbox-community/devicetype-library/pull/4591 (LILIN IP cameras).
    ([("onvif.manufacturer", "LILIN")], "Merit LILIN", DeviceType.CAMERA),
    # github.com/threat9/routersploit/pull/247: Honeywell IP-Camera HICC-1100PT.
    ([("upnp.model_name", "HICC-1100PT")], "Honeywell", DeviceType.CAMERA),
]

#: Strings that must name no maker: generic embedded web servers, and look-alikes.
NO_MAKER: list[list[tuple[str, str]]] = [
    # github.com/mcw0/PoC (Vivotek advisory): Vivotek runs a modified Boa/0.94.14rc21, but so do
    # many unrelated devices, so the server string alone names nobody.
    [("http.server", "Boa/0.94.14rc21")],
    [("http.server", "lighttpd/1.4.35")],
    [("http.server", "nginx")],
    [("http.server", "GoAhead-Webs")],
    [("http.server", "thttpd/2.25b 29dec2003")],
    # A Zyxel firewall's title must not read as a Ubiquiti "USG", nor a phone as a UniFi G5.
    [("http.title", "Zyxel USG FLEX 100")],
    [("http.title", "Galaxy G5 Pro")],
    # "Motorola" alone is also Motorola Mobility handsets and ARRIS cable modems.
    [("upnp.manufacturer", "Motorola")],
]

#: Makers' non-video products: the maker may be named, the device is not a video device.
NOT_VIDEO: list[list[tuple[str, str]]] = [
    # github.com/2600hz/monster-ui/pull/817: Grandstream phones.
    [("sip.user_agent", "Grandstream GXP2160 1.0.11.3")],
    # documentation.meraki.com: Meraki switches and security appliances.
    [("register.model", "Meraki MS220-8P")],
    [("register.model", "Meraki MX68")],
    # Canon and Sony also make printers and TVs that name them over UPnP.
    [("upnp.manufacturer", "Canon Inc.")],
    [("upnp.manufacturer", "Sony Corporation")],
]


@pytest.mark.parametrize(("signals", "maker", "device_type"), CASES)
def test_west_maker_and_type(
    signals: list[tuple[str, str]], maker: object, device_type: object
) -> None:
    result = attribute(signals)
    assert result.maker == maker
    if device_type is not ANY:
        assert result.device_type == device_type
    assert result.covered is None


@pytest.mark.parametrize("signals", NO_MAKER)
def test_generic_and_look_alike_strings_name_no_maker(signals: list[tuple[str, str]]) -> None:
    result = attribute(signals)
    assert result.maker is None
    assert result.covered is None


@pytest.mark.parametrize("signals", NOT_VIDEO)
def test_non_video_products_are_not_video(signals: list[tuple[str, str]]) -> None:
    result = attribute(signals)
    assert result.device_type not in {
        DeviceType.CAMERA,
        DeviceType.NVR,
        DeviceType.DVR,
        DeviceType.ENCODER,
    }
    assert result.covered is None


def test_samsung_snc_is_not_sony() -> None:
    # Sony SNC- models carry letters after the dash (github.com/CamioCam/rtsp/issues/194:
    # SNC-EM602R); Samsung Techwin's carry digits (github.com/CamioCam/rtsp/issues/69).
    assert attribute([("onvif.model", "SNC-EM602R")]).maker == "Sony"
    assert attribute([("onvif.model", "SNC-4241BE")]).maker == "Hanwha Vision"


def test_mdns_instance_gives_axis_model() -> None:
    # bookstack.bluecrow.net (AXIS M2026-LE Mk II mDNS instance name).
    result = attribute([("mdns.name", "AXIS M2026-LE Mk II - B8A44F0A98A1")])
    assert (result.maker, result.model) == ("Axis", "M2026-LE Mk II")
