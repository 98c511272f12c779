"""Covered and PRC makers: real strings -> maker, device type and covered status.

Hikvision, Dahua, Huawei, ZTE and Hytera (FCC Covered List / NDAA s.889), the PRC video makers
the UK 2022 direction reaches (Uniview, Tiandy, Kedacom, Sunell, TVT, Jovision, Milesight,
Xiongmai) and HiSilicon-based boards. Every row is a string a real device showed in a public
source, cited in the comment above it; none comes from the lab profiles. Negative rows check
that generic embedded strings name no covered maker: a clean device called covered costs a
council a needless replacement.
"""

from __future__ import annotations

from typing import Final

import pytest

from coverwatch.identify import attribute
from coverwatch.models import DeviceType

#: The expectation does not pin this field.
ANY: Final = "<any>"

Signals = list[tuple[str, str]]

CASES: list[tuple[Signals, object, object, bool]] = [
    # --- Hikvision ---------------------------------------------------------------------------
    # github.com/urbanadventurer/WhatWeb/pull/425: Hikvision cameras answer Server: App-webs/
    ([("http.server", "App-webs/")], "Hikvision", DeviceType.CAMERA, True),
    # same source: older Hikvision firmware sends Server: Hikvision-Webs
    ([("http.server", "Hikvision-Webs")], "Hikvision", DeviceType.CAMERA, True),
    # mdsec.co.uk/2016/10/building-an-iot-botnet-bsides-manchester-2016: HikVision DVR web server
    ([("http.server", "DVRDVS-Webs")], "Hikvision", DeviceType.DVR, True),
    # github.com/maciej-or/hikvision_next/pull/8: NVR model DS-7616NI-E2/16P
    ([("onvif.model", "DS-7616NI-E2/16P")], "Hikvision", DeviceType.NVR, True),
    # github.com/maciej-or/hikvision_next/issues/12: PTZ camera DS-2DE4425IW-DE
    ([("onvif.model", "DS-2DE4425IW-DE")], "Hikvision", DeviceType.CAMERA, True),
    # github.com/maciej-or/hikvision_next/issues/67: ISAPI deviceInfo of an NVR
    (
        [("isapi.device_name", "Network Video Recorder"), ("isapi.model", "DS-7608NI-I2/8P")],
        "Hikvision",
        DeviceType.NVR,
        True,
    ),
    # librenms tests/snmpsim/hikvision-nvr.snmprec: recorded SNMP walk of a Hikvision NVR
    (
        [
            ("snmp.sysdescr", "Hikvision company products"),
            ("snmp.sysobjectid", "1.3.6.1.4.1.50001"),
        ],
        "Hikvision",
        DeviceType.NVR,
        True,
    ),
    # public ISAPI capture of a Hikvision indoor station (deviceName "Embedded Net VIS")
    ([("isapi.model", "DS-KH6320-WTE1")], "Hikvision", DeviceType.INTERCOM, True),
    # HiLook (Hikvision value brand) camera IPC-B140H, hikvision.com HiLook product pages
    ([("onvif.model", "IPC-B140H")], "Hikvision", DeviceType.CAMERA, True),
    # --- Dahua -------------------------------------------------------------------------------
    # github.com/scottlamb/retina/issues/62: RTSP 401 of a Dahua camera
    (
        [("rtsp.www_authenticate", 'Digest realm="Login to 4K01FD2PAJ6E3FF"')],
        "Dahua",
        DeviceType.CAMERA,
        True,
    ),
    # github.com/xisobreaker/rtsp-stream-service README.md: newer Dahua firmware's 32-hex realm
    (
        [
            (
                "rtsp.www_authenticate",
                'Digest realm="Login to edbba66a86f75696d122e195153df0a2", '
                'nonce="ba0294a902ef637b4ac19025d26d0a05"',
            )
        ],
        "Dahua",
        DeviceType.CAMERA,
        True,
    ),
    # github.com/rroller/dahua/issues/59: XVR (HDCVI DVR) model
    ([("onvif.model", "DH-XVR5108C-X")], "Dahua", DeviceType.DVR, True),
    # github.com/rroller/dahua/issues/344: door station DHI-VTO2111D-P-S2
    ([("onvif.model", "DHI-VTO2111D-P-S2")], "Dahua", DeviceType.INTERCOM, True),
    # github.com/librenms/librenms/issues/8126: snmpwalk of a Dahua DH-NVR
    (
        [("snmp.sysdescr", "NVR"), ("snmp.sysobjectid", "1.3.6.1.4.1.1004849.3.2.10")],
        "Dahua",
        DeviceType.NVR,
        True,
    ),
    # github.com/home-assistant/core/issues/46822: SSDP answer of a Dahua device
    (
        [
            ("upnp.server", "Linux/3.8.8, UPnP/1.0, ZheJiang Dahua Technology CO.,LTD. Upnp SDK"),
            ("upnp.usn", "uuid:www.dahuatech.com.device_3_0-1L047ACPAW00037"),
        ],
        "Dahua",
        ANY,
        True,
    ),
    # github.com/rroller/dahua/issues/647: certificate of a newer Dahua camera
    (
        [("tls.issuer", "CN=Product Root CA,O=ZheJiang Dahua Technology CO.\\,LTD.,C=CN")],
        "Dahua",
        ANY,
        True,
    ),
    # --- Huawei ------------------------------------------------------------------------------
    # github.com/opensolutions/OSS_SNMP/issues/59: sysDescr of an S6720 switch
    (
        [
            (
                "snmp.sysdescr",
                "S6720-54C-EI-48S-AC \nHuawei Versatile Routing Platform Software \n VRP (R) "
                "software,Version 5.170 (S6720 V200R010C00SPC600) \n Copyright (C) 2007 Huawei "
                "Technologies Co., Ltd.",
            )
        ],
        "Huawei",
        DeviceType.SWITCH,
        True,
    ),
    # github.com/opensolutions/OSS_SNMP/issues/67: CloudEngine CE6810 sysDescr
    (
        [
            (
                "snmp.sysdescr",
                "Huawei Versatile Routing Platform Software\nVRP (R) software, Version 8.100 "
                "(CE6810LI V100R005C10SPC200)\nCopyright (C) 2012-2015 Huawei Technologies Co., "
                "Ltd.\nHUAWEI CE6810-48S4Q-LI uptime is 1497 days, 5 hours, 7 minutes",
            )
        ],
        "Huawei",
        DeviceType.SWITCH,
        True,
    ),
    # github.com/librenms/librenms/issues/1931: old Quidway S8505 switch
    (
        [
            (
                "snmp.sysdescr",
                "Huawei Versatile Routing Platform Software, Software Version 3.10, Release 1650\n"
                "Quidway S8505-EI\nCopyright(c) 1998-2008 Huawei Technologies Co., Ltd. All "
                "rights reserved.",
            )
        ],
        "Huawei",
        DeviceType.SWITCH,
        True,
    ),
    # github.com/netdisco/snmp-info/pull/257: a Huawei AR151 router
    (
        [("snmp.sysdescr", "Huawei AR151 Huawei Versatile Routing Platform Software")],
        "Huawei",
        DeviceType.ROUTER,
        True,
    ),
    # github.com/fusioninventory/sysobject.ids/issues/15: AC6605 WLAN controller
    (
        [
            (
                "snmp.sysdescr",
                "Huawei AC6605-26-PWR Huawei Versatile Routing Platform Software  VRP (R) "
                "software,Version 5.170 (AC6605-26-PWR V200R007C20SPC300) Copyright (C) "
                "2011-2017 Huawei Technologies Co., Ltd",
            )
        ],
        "Huawei",
        DeviceType.ACCESS_POINT,
        True,
    ),
    # github.com/glpi-project/glpi-agent/issues/326: sysObjectID of an S5720-52X-PWR-SI-AC
    ([("snmp.sysobjectid", ".1.3.6.1.4.1.2011.2.23.335")], "Huawei", DeviceType.SWITCH, True),
    # github.com/fusioninventory/sysobject.ids/issues/75: OceanStor Dorado 300 array
    (
        [("snmp.sysdescr", "ISM SNMP Agent"), ("snmp.sysobjectid", "1.3.6.1.4.1.2011.2.91")],
        "Huawei",
        DeviceType.STORAGE,
        True,
    ),
    # VRP SSH identification string (Huawei routers and switches, public network-audit notes)
    ([("ssh.banner", "SSH-2.0-HUAWEI-1.5")], "Huawei", ANY, True),
    # Huawei configuration example of a telnet login to a VRP device
    (
        [
            (
                "telnet.banner",
                "Warning: Telnet is not a secure protocol, and it is recommended to use STelnet. "
                "\r\n\r\nLogin authentication\r\n\r\n\r\nUsername:",
            )
        ],
        "Huawei",
        ANY,
        True,
    ),
    # github.com/Salamek/huawei-lte-api README: tested LTE router B525s-23a
    ([("upnp.model_name", "B525s-23a")], "Huawei", DeviceType.ROUTER, True),
    # github.com/coolrecep/Huawei-HG8245X6-Root/issues/3: ONT HG8245W5-6T
    ([("upnp.model_name", "HG8245W5-6T")], "Huawei", DeviceType.ROUTER, True),
    # --- ZTE ---------------------------------------------------------------------------------
    # librenms/librenms/pull/4381: ZXR10 sysDescr; ZXR10 T64G router (public SNMP test data)
    (
        [
            (
                "snmp.sysdescr",
                "ZXR10 ROS Version V4.6.02D ZXR10 T64G Software, Version V2.6.02.d.16_p05 "
                "Copyright (c) 2001-2007 by ZTE Corporation Compiled Sep 6 2007, 14:24:04",
            )
        ],
        "ZTE",
        DeviceType.ROUTER,
        True,
    ),
    # github.com/mkst/zte-config-utility/issues/121: ONT announcing Manufacturer:ZTE
    ([("upnp.manufacturer", "ZTE")], "ZTE", ANY, True),
    # IEEE registry organisation name, as UPnP descriptions spell the maker
    ([("upnp.manufacturer", "ZTE Corporation")], "ZTE", ANY, True),
    # a ZTE F670L ONT web scan (title F670L): Server: Mini web server 1.0 ZTE corp 2005.
    (
        [("http.server", "Mini web server 1.0 ZTE corp 2005."), ("http.title", "F670L")],
        "ZTE",
        DeviceType.ROUTER,
        True,
    ),
    # github.com/threat9/routersploit/issues/598: ZXHN H168N home gateway
    ([("upnp.model_name", "ZXHN H168N")], "ZTE", DeviceType.ROUTER, True),
    # nvd.nist.gov/vuln/detail/CVE-2014-4019: ZTE ZXV10 W300 router realm
    ([("http.www_authenticate", 'Basic realm="ZXV10 W300"')], "ZTE", ANY, True),
    # a ZXPON C320 OLT's sysObjectID (public monitoring code)
    ([("snmp.sysobjectid", "1.3.6.1.4.1.3902.1015.320.1.2")], "ZTE", ANY, True),
    # --- Hytera ------------------------------------------------------------------------------
    # IEEE registry name and Hytera repeater models (github.com/g4klx/MMDVM-Host/issues/286)
    (
        [("upnp.manufacturer", "Hytera Communications Corporation Limited")],
        "Hytera",
        ANY,
        True,
    ),
    ([("upnp.model_name", "RD985")], "Hytera", DeviceType.RADIO, True),
    ([("snmp.sysdescr", "Hytera DMR Repeater RD965")], "Hytera", DeviceType.RADIO, True),
    # NURDspace/librenms hytera.inc.php: HYTERA-REPEATER-MIB objects under 1.3.6.1.4.1.40297
    ([("snmp.sysobjectid", "1.3.6.1.4.1.40297.1.2")], "Hytera", DeviceType.RADIO, True),
    # --- Uniview and the other PRC video makers (not covered) -----------------------------------
    # public ONVIF client test: Manufacturer UNIVIEW, Model NVR301-08S3-P8-DT
    (
        [("onvif.manufacturer", "UNIVIEW"), ("onvif.model", "NVR301-08S3-P8-DT")],
        "Uniview",
        DeviceType.NVR,
        False,
    ),
    # github.com/home-assistant/core/issues/115663: Uniview camera model
    ([("onvif.model", "IPC2124LR3-PF40M-D")], "Uniview", DeviceType.CAMERA, False),
    # github.com/evercam/ex_nvr: Milesight ONVIF GetDeviceInformation fixture
    (
        [
            ("onvif.manufacturer", "Milesight Technology Co.,Ltd."),
            ("onvif.model", "MS-C8165-PE"),
        ],
        "Milesight",
        DeviceType.CAMERA,
        False,
    ),
    # github.com/evercam/ex_nvr/pull/964: Evercam-branded Milesight cameras
    ([("onvif.manufacturer", "EVERCAM LTD")], "Milesight", DeviceType.CAMERA, False),
    # GB/T 28181 DeviceInfo of a Tiandy recorder (Manufacturer Tiandy, Model TC-2808AN-HD)
    (
        [("onvif.manufacturer", "Tiandy"), ("onvif.model", "TC-2808AN-HD")],
        "Tiandy",
        DeviceType.DVR,
        False,
    ),
    # IEEE registry organisation names as devices spell their maker
    ([("upnp.manufacturer", "Suzhou Keda Technology CO.,Ltd")], "Kedacom", ANY, False),
    ([("onvif.manufacturer", "Sunell")], "Sunell", ANY, False),
    ([("onvif.manufacturer", "TVT")], "TVT", ANY, False),
    ([("onvif.manufacturer", "Jovision Technology Co., Ltd.")], "Jovision", ANY, False),
    # --- Xiongmai (XM firmware under many OEM brands) -------------------------------------------
    # nvd.nist.gov/vuln/detail/CVE-2017-7577: XiongMai uc-httpd
    ([("http.server", "uc-httpd 1.0.0")], "Xiongmai", ANY, False),
    # nmap http-title of an XM recorder
    ([("http.title", "NETSurveillance WEB")], "Xiongmai", ANY, False),
    # public device notes: XiongMai IPC with an H264DVR 1.0 RTSP server
    ([("rtsp.server", "H264DVR 1.0")], "Xiongmai", ANY, False),
    # github.com/tothi/hs-dvr-telnet/issues/3 + gigazine 2020-02-07: XM NVR ports 34567, 9530
    ([("tcp.port", "34567"), ("tcp.port", "9530")], "Xiongmai", ANY, False),
    # --- negatives: generic embedded strings name no covered maker ----------------------------
    # GoAhead, Boa, lighttpd, mini_httpd, thttpd run on countless unrelated devices
    ([("http.server", "GoAhead-Webs")], None, ANY, False),
    ([("http.server", "Boa/0.94.14rc21")], None, ANY, False),
    ([("http.server", "lighttpd/1.4.35")], None, ANY, False),
    ([("http.server", "mini_httpd/1.19 19dec2003")], None, ANY, False),
    ([("http.server", "thttpd/2.25b 29dec2003")], None, ANY, False),
    # plain "Webs" (newer Hikvision firmware) is too little alone
    ([("http.server", "Webs")], None, ANY, False),
    # BusyBox's prompt on an unnamed host says nothing about the maker
    ([("telnet.banner", "(none) login:")], None, ANY, False),
    # NVD CVE-2017-7577 / uc-httpd: Xiongmai firmware, a PRC maker but not a covered one
    ([("http.server", "uc-httpd/1.0.0")], "Xiongmai", ANY, False),
    # lwIP's own enterprise number (lwIP example MIB, Nuvoton's lwIP SNMP demo): not Hytera alone
    ([("snmp.sysobjectid", "1.3.6.1.4.1.26381")], None, ANY, False),
    ([("snmp.sysdescr", "SNMP Agent on Nuvoton Mbed platform")], None, ANY, False),
    # H3C Comware (a VRP descendant) sends SSH-2.0-VRP-*: not Huawei on that alone
    ([("ssh.banner", "SSH-2.0-VRP-3.3")], None, ANY, False),
    # VRP descendants that are not Huawei: HP/H3C Comware (github.com/librenms/librenms/issues/2090;
    # github.com/ktbyers/netmiko/pull/2263)
    (
        [
            (
                "snmp.sysdescr",
                "1920-16G Switch Software Version 5.20.99, Release 1108\nCopyright(c)2010-2015 "
                "Hewlett-Packard Development Company, L.P.",
            )
        ],
        ANY,
        ANY,
        False,
    ),
    (
        [
            (
                "telnet.banner",
                "HP Comware Platform Software\nComware Software, Version 5.20.99, Release 2215\n"
                "Copyright (c) 2010-2012 Hewlett-Packard Development Company, L.P.",
            )
        ],
        ANY,
        ANY,
        False,
    ),
    # a Canon imageCLASS printer model must not look like a ZTE MF mobile router
    ([("upnp.model_name", "MF445dw")], None, ANY, False),
    # HiSilicon SDK strings: a covered component, never a covered maker
    ([("rtsp.server", "HiIpcam/V100R003 VodServer/1.0.0")], None, DeviceType.CAMERA, False),
    ([("telnet.banner", "Welcome to HiLinux.")], None, ANY, False),
]


@pytest.mark.parametrize(("signals", "maker", "device_type", "covered"), CASES)
def test_real_strings(signals: Signals, maker: object, device_type: object, covered: bool) -> None:
    result = attribute(signals)
    if maker is not ANY:
        assert result.maker == maker
    if device_type is not ANY:
        assert result.device_type == device_type
    assert (result.covered is not None) == covered
    if result.maker:
        assert any(e.maker == result.maker for e in result.evidence), "a claim cites evidence"


@pytest.mark.parametrize(
    "signals",
    [
        # github.com/luisiam/homebridge-foscamcamera/issues/6: HiSilicon RTSP server on a Foscam
        [("rtsp.server", "Hisilicon Streaming Media Server/1.0.0(Jul 30 2015)")],
        # github.com/hi35xx/hi35xx-buildroot/issues/7: a HI3518EV1 camera
        [("onvif.scope.hardware", "HI3518EV1")],
    ],
)
def test_hisilicon_is_a_component_not_a_maker(signals: Signals) -> None:
    result = attribute(signals)
    assert result.maker is None and result.covered is None
    assert any(e.component == "HiSilicon" for e in result.evidence)
    assert all(e.maker is None for e in result.evidence if e.component)


@pytest.mark.parametrize(
    ("signals", "brand"),
    [
        # HiLook / Prama: Hikvision sub-brands naming themselves
        ([("onvif.manufacturer", "HiLook")], "HiLook"),
        ([("upnp.manufacturer", "Prama Hikvision India Private Limited")], "Prama"),
        # github.com/home-assistant/core/issues/46822: Amcrest serial in Dahua's UPnP SDK UDN
        (
            [
                ("upnp.server", "Linux, UPnP/1.0, Private Upnp SDK"),
                ("upnp.usn", "uuid:device_3_0-AMC047E538B56EDFEB::upnp:rootdevice"),
            ],
            "Amcrest",
        ),
    ],
)
def test_sub_brands_keep_their_brand_and_maker_firmware(signals: Signals, brand: str) -> None:
    result = attribute(signals)
    assert result.brand == brand
    assert result.covered is not None


def test_shared_firmware_strings_claim_no_brand() -> None:
    # Hikvision's and Dahua's server strings also appear on OEM rebrands: maker only.
    for signals in (
        [("http.server", "Hikvision-Webs")],
        [("rtsp.server", "Dahua Rtsp Server")],
        [("http.server", "uc-httpd 1.0.0")],
    ):
        assert attribute(signals).brand is None, signals
