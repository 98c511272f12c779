"""The register's site column (issue #10 part 2): rows grouped by the site they name."""

from __future__ import annotations

from pathlib import Path

from coverwatch.models import Observation
from coverwatch.sources.register import parse_mapping, read_register, read_register_sites

ROWS = (
    "IP,Make,Location\n"
    "10.0.0.5,Hikvision,depot\n"
    "10.0.0.5,Axis, hq \n"  # the same address at another site; spaces around the name
    "10.0.0.6,Axis,hq\n"
    "10.0.0.7,Bosch,\n"
    "not-an-ip,Axis,hq\n"
)


def test_rows_are_grouped_by_their_site(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(ROWS)
    groups, bad, read = read_register_sites(path, parse_mapping("ip=IP,brand=Make,site=Location"))
    assert {site: sorted(hosts) for site, hosts in groups.items()} == {
        "depot": ["10.0.0.5"],
        "hq": ["10.0.0.5", "10.0.0.6"],
        None: ["10.0.0.7"],
    }
    brands = {
        site: {o.value for o in hosts["10.0.0.5"] if o.signal == "register.brand"}
        for site, hosts in groups.items()
        if "10.0.0.5" in hosts
    }
    assert brands == {"depot": {"Hikvision"}, "hq": {"Axis"}}
    assert read == 5 and [b.row for b in bad] == [6]


def test_without_a_site_column_everything_is_one_group(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(ROWS)
    mapping = parse_mapping("ip=IP,brand=Make")
    groups, _bad, _read = read_register_sites(path, mapping)
    assert list(groups) == [None]
    merged = read_register(path, mapping)

    def facts(hosts: dict[str, list[Observation]]) -> dict[str, list[tuple[str, str]]]:
        return {ip: [(o.signal, o.value) for o in obs] for ip, obs in hosts.items()}

    assert facts(merged.observations) == facts(groups[None])
