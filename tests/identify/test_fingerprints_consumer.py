"""Consumer and SME camera brands: real strings -> maker, brand and device type.

Every row is a string a real device (or its maker's own API) showed in a public source, cited in
the comment above it; none comes from the lab profiles. Negative rows check that generic strings
name no maker and that a maker's routers and switches are not called cameras.
"""

from __future__ import annotations

from typing import Final

import pytest

from coverwatch.identify import attribute
from coverwatch.models import DeviceType

#: The expectation does not pin this field (an OEM map decides it, or it does not matter here).
ANY: Final = "<any>"
DAHUA = "Dahua"

CASES: list[tuple[list[tuple[str, str]], object, object, object]] = [
    # --- D-Link ------------------------------------------------------------------------------
    # IoT Sentinel setup captures (arXiv:1611.04880): D-Link WiFi Day Camera DCS-930L; the
    # DCS-6100LH uses its model as host name (github.com/mouldybread/DCS-6100LH/issues/19).
    ([("dhcp.hostname", "DCS-930L")], "D-Link", "D-Link", DeviceType.CAMERA),
    # github.com/bmork/defogger/issues/9: WWW-Authenticate: Basic realm="DCS-8000LH_00"
    (
        [("http.www_authenticate", 'Basic realm="DCS-8000LH_00"')],
        "D-Link",
        "D-Link",
        DeviceType.CAMERA,
    ),
    # github.com/CamioCam/rtsp/issues/109: D-Link DCS-5020L
    ([("upnp.model_name", "DCS-5020L")], "D-Link", "D-Link", DeviceType.CAMERA),
    # IoT Sentinel: D-Link HD IP Camera DCH-935L
    ([("dhcp.hostname", "DCH-935L")], "D-Link", "D-Link", DeviceType.CAMERA),
    # IoT Sentinel: D-Link WiFi Motion sensor DCH-S150 (D-Link, not a camera)
    ([("dhcp.hostname", "DCH-S150")], "D-Link", "D-Link", None),
    # github.com/netdisco/snmp-info/issues/481: sysDescr of a D-Link switch
    (
        [("snmp.sysdescr", "DGS-3627 Gigabit Ethernet Switch")],
        "D-Link",
        "D-Link",
        DeviceType.SWITCH,
    ),
    # github.com/netdisco/snmp-info/issues/478
    (
        [
            (
                "snmp.sysdescr",
                "D-LINK DGS-F3008P-4S HW V1 Firmware V5.2.10.1-ged9dba8ff SerialNo "
                "H3008P200400085, L2 Ethernet PoE Switch",
            )
        ],
        "D-Link",
        "D-Link",
        DeviceType.SWITCH,
    ),
    # github.com/rapid7/metasploit-framework/pull/18463: UPnP product info DIR-845L
    ([("upnp.model_name", "DIR-845L")], "D-Link", "D-Link", DeviceType.ROUTER),
    # github.com/openwrt/openwrt/pull/11203: D-Link DAP-2610 access point
    ([("upnp.model_name", "DAP-2610")], "D-Link", "D-Link", DeviceType.ACCESS_POINT),
    # github.com/netdisco/snmp-info/issues/481: sysObjectID of the DGS-3627 (IANA PEN 171 D-Link)
    ([("snmp.sysobjectid", ".1.3.6.1.4.1.171.10.70.6")], "D-Link", "D-Link", DeviceType.SWITCH),
    # github.com/b03201003/firmware: DIR-615 web UI title
    (
        [("http.title", "D-LINK SYSTEMS, INC | WIRELESS ROUTER | HOME")],
        "D-Link",
        "D-Link",
        DeviceType.ROUTER,
    ),
    # D-Link camera cloud relay host in public mydlink client code (wss://mp-eu-dcdda...)
    ([("tls.sni", "mp-eu-dcdda.auto.mydlink.com")], "D-Link", None, None),
    # --- Edimax ------------------------------------------------------------------------------
    # IoT Sentinel: Edimax IC-3115W Smart HD WiFi Network Camera
    ([("dhcp.hostname", "IC-3115W")], "Edimax", "Edimax", DeviceType.CAMERA),
    # github.com/panjanek/EdiManager: cameras IC-3116W, IC-3140W, IC-7001W
    ([("upnp.model_name", "IC-7001W")], "Edimax", "Edimax", DeviceType.CAMERA),
    # github.com/panjanek/EdiManager: default cloud server www.myedimax.com
    ([("tls.sni", "www.myedimax.com")], "Edimax", None, None),
    # IoT Sentinel: Edimax SP-2101W Smart Plug Switch (Edimax, not a camera)
    ([("upnp.model_name", "SP-2101W")], "Edimax", "Edimax", None),
    # github.com/motioneye-project/motioneyeos/issues/1182 (Edimax IC-7112 PTZ URL)
    (
        [("http.body", '<a href="/camera-cgi/com/ptz.cgi?move=up">')],
        "Edimax",
        ANY,
        DeviceType.CAMERA,
    ),
    # github.com/openwrt/openwrt/pull/10640: Edimax BR-6208AC router
    ([("upnp.model_name", "BR-6208AC")], "Edimax", "Edimax", DeviceType.ROUTER),
    # --- Ednet -------------------------------------------------------------------------------
    # IoT Sentinel: "Ednet Wireless indoor IP camera Cube", "Ednet.living Starter kit"
    ([("upnp.friendly_name", "Ednet.living Starter kit power Gateway")], "Ednet", "Ednet", ANY),
    ([("upnp.model_name", "Ednet Wireless indoor IP camera Cube")], "Ednet", "Ednet", ANY),
    # --- Foscam ------------------------------------------------------------------------------
    # Published nmap scan of a Foscam camera (ssl-cert subject)
    (
        [
            (
                "tls.subject",
                "CN=*.myfoscam.org,O=Shenzhen Foscam Intelligent Technology Co.\\,Ltd,"
                "ST=Guangdong,C=CN",
            )
        ],
        "Foscam",
        "Foscam",
        DeviceType.CAMERA,
    ),
    # Same scan: http-title IPCam Client
    ([("http.title", "IPCam Client")], "Foscam", ANY, DeviceType.CAMERA),
    # github.com/evercam/evercam-server/issues/79 (FI9803P snapshot URL)
    (
        [("http.body", '<a href="/cgi-bin/CGIProxy.fcgi?cmd=snapPicture2">')],
        "Foscam",
        ANY,
        DeviceType.CAMERA,
    ),
    ([("onvif.model", "FI9803P")], "Foscam", "Foscam", DeviceType.CAMERA),
    # --- TRENDnet ----------------------------------------------------------------------------
    # github.com/Motion-Project/motion/issues/122 (TV-IP320PI, Hikvision-style snapshot path)
    ([("onvif.model", "TV-IP320PI")], ANY, "TRENDnet", DeviceType.CAMERA),
    # github.com/phrack/ShootOFF/issues/306 (TRENDnet camera); TV-IP551W model scheme
    (
        [("http.www_authenticate", 'Basic realm="TV-IP551W"')],
        "TRENDnet",
        "TRENDnet",
        DeviceType.CAMERA,
    ),
    # --- Vstarcam, Wyze, Arlo, Ring, Blink, Nest, Eufy ---------------------------------------
    # github.com/motioneye-project/motioneyeos/issues/2253
    ([("onvif.model", "C7824WIP")], "Vstarcam", "Vstarcam", DeviceType.CAMERA),
    # github.com/mrlt8/docker-wyze-bridge/issues/719 (Wyze Cam v3)
    ([("register.model", "WYZE_CAKP2JFUS")], "Wyze", "Wyze", DeviceType.CAMERA),
    # github.com/jeffreydwalter/arlo/issues/200 (Arlo Pro 4 modelId)
    ([("register.model", "VMC4041PA")], "Arlo", "Arlo", DeviceType.CAMERA),
    # github.com/jeffreydwalter/arlo/issues/38 (base station, not a camera)
    ([("register.model", "VMB4540")], "Arlo", "Arlo", None),
    # github.com/python-ring-doorbell/python-ring-doorbell/pull/310
    ([("register.model", "stickup_cam_wired")], "Ring", "Ring", DeviceType.CAMERA),
    # github.com/fronzbot/blinkpy/pull/1208
    ([("register.model", "Blink Mini")], "Blink", "Blink", None),
    # IEEE registry name of Nest's MAC block (netaddr): Nest Labs Inc.
    ([("upnp.manufacturer", "Nest Labs Inc.")], "Google", ANY, None),
    # github.com/fuatakgun/eufy_security/issues/1000 (T8142-R camera, HomeBase serial)
    ([("register.model", "T8142-R")], "Eufy", "Eufy", DeviceType.CAMERA),
    ([("register.serial", "T8010T152325064D")], "Eufy", "Eufy", None),
    # --- Swann, Lorex, Amcrest, Annke, LTS, Q-See --------------------------------------------
    # github.com/homebridge-plugins/homebridge-camera-ffmpeg/issues/1334
    ([("register.model", "DVR4-4580V")], "Swann", "Swann", DeviceType.DVR),
    # github.com/thirtythreeforty/neolink/issues/250
    ([("register.model", "NHD-818")], "Swann", "Swann", DeviceType.CAMERA),
    # github.com/homebridge-plugins/homebridge-camera-ffmpeg/issues/1409 (Lorex Fusion NVR)
    ([("register.model", "N845A62")], ANY, "Lorex", DeviceType.NVR),
    # github.com/rroller/dahua/pull/79 (Lorex E891AB)
    ([("onvif.model", "E891AB")], ANY, "Lorex", DeviceType.CAMERA),
    # github.com/letscontrolit/ESPEasy/pull/4145 (Amcrest camera 401 challenge)
    (
        [
            (
                "http.www_authenticate",
                'Digest realm="Login to AMC060FA9E5447CE86", qop="auth", nonce="870658570"',
            )
        ],
        DAHUA,
        "Amcrest",
        ANY,
    ),
    # github.com/tchellomello/python-amcrest/issues/207
    ([("onvif.model", "IP4M-1041")], DAHUA, "Amcrest", DeviceType.CAMERA),
    # github.com/maciej-or/hikvision_next/pull/107 (Annke C800, model I91BM)
    ([("onvif.model", "I91BM")], ANY, "Annke", DeviceType.CAMERA),
    # github.com/CamioCam/rtsp/pull/23 (LTS CMIP8242WB)
    ([("onvif.model", "CMIP8242WB")], ANY, "LTS", DeviceType.CAMERA),
    # github.com/CamioCam/rtsp/issues/200 (Q-See QCW2MPSL)
    ([("onvif.model", "QCW2MPSL")], "Q-See", "Q-See", DeviceType.CAMERA),
    # --- TP-Link: Tapo, VIGI, TL-IPC cameras; routers, switches, access points ---------------
    # github.com/homebridge-plugins/homebridge-camera-ffmpeg/issues/1173
    ([("upnp.friendly_name", "Tapo C310")], "TP-Link", "Tapo", DeviceType.CAMERA),
    # github.com/koush/scrypted/issues/1014
    ([("onvif.model", "VIGI C330I")], "TP-Link", ANY, DeviceType.CAMERA),
    # github.com/mpromonet/webrtc-streamer/issues/698
    ([("onvif.model", "TL-IPC637P-ZOOM-DUAL")], "TP-Link", "TP-Link", DeviceType.CAMERA),
    # IoT Sentinel (arXiv:1611.04880): TP-Link WiFi Smart plug HS110 (TP-Link, not a camera)
    ([("dhcp.hostname", "HS110")], "TP-Link", "TP-Link", None),
    # github.com/spantaleev/roscraco router/tplink/wr741n.py
    (
        [("http.www_authenticate", 'Basic realm="TP-LINK Wireless Lite N Router WR741N"')],
        "TP-Link",
        "TP-Link",
        DeviceType.ROUTER,
    ),
    # github.com/ofekp/TinyUPnP/issues/1: UPnP SERVER header of a TP-Link TL-WR740N
    ([("upnp.server", "ipos/7.0 UPnP/1.0 TL-WR740N/4.0")], "TP-Link", "TP-Link", DeviceType.ROUTER),
    # github.com/byte4geek/switch-dashboard/pull/15
    ([("upnp.model_name", "TL-SG108E")], "TP-Link", "TP-Link", DeviceType.SWITCH),
    # github.com/librenms/librenms/issues/2184: TP-Link TL-SG3424 sysDescr
    (
        [("snmp.sysdescr", "JetStream 24-Port Gigabit L2 Managed Switch with 4 Combo SFP Slots")],
        "TP-Link",
        "TP-Link",
        DeviceType.SWITCH,
    ),
    ([("snmp.sysobjectid", ".1.3.6.1.4.1.11863.1.1.3")], "TP-Link", "TP-Link", ANY),
    # github.com/fusioninventory/sysobject.ids/issues/53
    ([("upnp.model_name", "EAP225")], "TP-Link", "TP-Link", DeviceType.ACCESS_POINT),
    # github.com/JurajNyiri/HomeAssistant-Tapo-Control/issues/1207: a Tapo C210's certificate
    ([("tls.subject", "CN=TPRI-DEVICE,O=TPRI,C=US")], "TP-Link", ANY, ANY),
    # --- Reolink -----------------------------------------------------------------------------
    # github.com/AlexxIT/go2rtc/issues/763: RTSP challenge of a Reolink doorbell / camera
    ([("rtsp.www_authenticate", 'Digest realm="BC Streaming Media"')], "Reolink", ANY, ANY),
    # github.com/geerlingguy/pi-nvr/issues/14
    ([("register.model", "Reolink Duo 3")], "Reolink", "Reolink", DeviceType.CAMERA),
    # --- negatives: generic strings name no maker --------------------------------------------
    # udhcp is BusyBox's DHCP client, used by countless embedded devices
    ([("dhcp.vendor_class", "udhcp 1.24.1")], None, None, None),
    # the Foscam scan's web server: generic lighttpd
    ([("http.server", "lighttpd/1.4.49")], None, None, None),
    # Arista switch model (DCS-7050SX-64, arista.com 7050X series) is not a D-Link camera
    ([("dhcp.hostname", "DCS-7050SX-64")], None, None, None),
    # Icom IC-7300 transceiver is not an Edimax camera
    ([("dhcp.hostname", "IC-7300")], None, None, None),
    ([("dhcp.hostname", "iPhone")], None, None, None),
]


@pytest.mark.parametrize(("signals", "maker", "brand", "device_type"), CASES)
def test_consumer_strings(
    signals: list[tuple[str, str]],
    maker: object,
    brand: object,
    device_type: object,
) -> None:
    result = attribute(signals)
    if maker != ANY:
        assert result.maker == maker
    if brand != ANY:
        assert result.brand == brand
    if device_type != ANY:
        assert result.device_type == device_type


@pytest.mark.parametrize(
    "signals",
    [
        [("snmp.sysdescr", "DGS-3627 Gigabit Ethernet Switch")],
        [("upnp.model_name", "DIR-845L")],
        [("tls.sni", "api.auto.mydlink.com")],
        [("http.www_authenticate", 'Basic realm="TP-LINK Wireless Lite N Router WR741N"')],
        [("upnp.model_name", "EAP225")],
        [("register.model", "VMB4540")],
        [("snmp.sysdescr", "JetStream 24-Port Gigabit L2 Managed Switch with 4 Combo SFP Slots")],
        [("http.title", "D-LINK SYSTEMS, INC | WIRELESS ROUTER | HOME")],
    ],
)
def test_network_gear_of_camera_makers_is_not_a_camera(signals: list[tuple[str, str]]) -> None:
    assert attribute(signals).device_type not in (DeviceType.CAMERA, DeviceType.NVR, DeviceType.DVR)


@pytest.mark.parametrize(
    ("signals", "model"),
    [
        ([("http.www_authenticate", 'Basic realm="DCS-932L_68"')], "DCS-932L"),
        ([("http.www_authenticate", 'Digest realm="DCS-2132LB1"')], "DCS-2132L"),
        ([("upnp.model_name", "IC-3116W")], "IC-3116W"),
        ([("onvif.model", "IP8M-T2599E")], "IP8M-T2599E"),
    ],
)
def test_model_is_read_from_the_string(signals: list[tuple[str, str]], model: str) -> None:
    assert attribute(signals).model == model


def test_no_consumer_brand_is_covered_without_an_oem_link() -> None:
    """Brands of makers that are not covered entities must not be flagged covered by themselves."""
    for signals in (
        [("dhcp.hostname", "DCS-930L")],
        [("dhcp.hostname", "IC-3115W")],
        [("upnp.friendly_name", "Tapo C310")],
        [("register.model", "WYZE_CAKP2JFUS")],
    ):
        assert attribute(signals).covered is None
