"""The command group, shared options and helpers of the command line.

Exit codes: 0 clean, 1 findings at or above --fail-on (audit), 2 usage or input error.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from coverwatch import __version__
from coverwatch.errors import CoverwatchError
from coverwatch.observer import Observer
from coverwatch.targets import DEFAULT_MAX_HOSTS, DEFAULT_PORTS

# NOTE: heavier modules (SQLAlchemy, the lab, reports, rich) are imported inside the commands
# that use them, so `coverwatch identify` in a shell pipeline starts fast.
if TYPE_CHECKING:
    from coverwatch.store import DeviceReader
    from coverwatch.traffic.engines.interface import FlowEngine


def quiet() -> bool:
    """Whether ``--quiet`` was given: results and errors only."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx else None
    return bool(root and isinstance(root.obj, dict) and root.obj.get("quiet"))


def say(message: str) -> None:
    """A summary, note or warning for the person at the terminal, on stderr; silent with
    ``--quiet`` (results go to stdout, errors are always shown)."""
    if not quiet():
        click.echo(message, err=True)


class ProgressObserver(Observer):
    """Shows a progress bar on a terminal (stderr); silent when stderr is not a TTY or with
    ``--quiet``."""

    def __init__(self) -> None:
        self._console_: Any = None
        self._progress: Any = None
        self._task: Any = None

    @property
    def _console(self) -> Any:
        # NOTE: rich loads on first use: piped runs (CI, `| jq`) never draw a bar, and a note
        # piped to a log stays one line (grep finds it whole).
        if self._console_ is None:
            from rich.console import Console

            self._console_ = Console(
                stderr=True, highlight=False, quiet=quiet(), soft_wrap=not sys.stderr.isatty()
            )
        return self._console_

    def stage(self, name: str, total: int | None = None) -> None:
        if not (sys.stderr.isatty() or os.environ.get("FORCE_TERMINAL")):
            return
        if not self._console.is_terminal:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self._console,
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(name, total=total)

    def advance(self, steps: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, steps)

    def note(self, message: str) -> None:
        from rich.markup import escape

        self._console.print(f"[yellow]note:[/] {escape(message)}", markup=True)

    def done(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _fail(message: str) -> None:
    click.echo(f"coverwatch: error: {message}", err=True)


def main() -> None:
    """Console-script entry point: every CoverwatchError is one line and exit code 2."""
    try:
        cli.main(prog_name="coverwatch", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("coverwatch: interrupted", err=True)
        sys.exit(130)
    except CoverwatchError as e:
        _fail(str(e))
        sys.exit(2)
    except BrokenPipeError:
        # NOTE: `coverwatch devices --json | head` closes our stdout early; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
    except Exception as e:  # a bug, not a user mistake: say so in one line
        if "-v" in sys.argv or "--verbose" in sys.argv or "-vv" in sys.argv:
            raise
        _fail(
            f"internal error (a bug in coverwatch): {e.__class__.__name__}: {e}; "
            "run again with -v for the traceback and report it"
        )
        sys.exit(70)  # EX_SOFTWARE (sysexits.h)


def _parse_ports(text: str) -> tuple[int, ...]:
    ports: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part:
                low, high = (int(x) for x in part.split("-", 1))
                ports.update(range(low, high + 1))
            else:
                ports.add(int(part))
        except ValueError as e:
            raise click.BadParameter(f"{part!r} is not a port or port range") from e
    if not ports or not all(0 < p < 65536 for p in ports):
        raise click.BadParameter("ports must be between 1 and 65535")
    return tuple(sorted(ports))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="coverwatch")
@click.option(
    "--db",
    metavar="PATH|URL",
    envvar="COVERWATCH_DB",
    help="Inventory database: a SQLite file path or a SQLAlchemy URL "
    "(postgresql+psycopg://...). Default: inventory.db in the user data folder. "
    "An older inventory is upgraded when opened (see `db upgrade`). Env: COVERWATCH_DB.",
)
@click.option(
    "--traffic-dir",
    metavar="DIR",
    envvar="COVERWATCH_TRAFFIC_DIR",
    help="Flow store for captures and flow logs (DuckDB + Parquet). Default: beside the "
    "inventory file (<db>.traffic). Env: COVERWATCH_TRAFFIC_DIR.",
)
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="Only results (stdout) and errors: no progress, summaries, notes or warnings.",
)
@click.pass_context
def cli(
    ctx: click.Context, db: str | None, traffic_dir: str | None, verbose: int, quiet: bool
) -> None:
    """Audit a video-surveillance estate: find cameras, NVRs and DVRs, name who really made
    them (white-label rebrands included), and flag equipment of covered vendors.

    \b
    Start here:
      coverwatch demo                         audit the built-in lab site, write a report
      coverwatch scan 10.1.20.0/24 --site hq  scan your declared scope into the inventory
      coverwatch devices                      list the inventory (--json, --csv)
      coverwatch runs                         list scans, discoveries and imports
      coverwatch identify obs.jsonl           attribute observations from another tool
      coverwatch audit --policy site.yaml     findings: covered vendors, UK 2022, CVEs, egress
      coverwatch traffic import site.pcapng   verify from traffic what devices send outside

    Exit codes: 0 clean, 1 findings (audit), 2 usage or input error.

    \b
    Shell completion of commands and options, e.g. in ~/.bashrc:
      eval "$(_COVERWATCH_COMPLETE=bash_source coverwatch)"
    (zsh: zsh_source in ~/.zshrc; fish: _COVERWATCH_COMPLETE=fish_source coverwatch | source)
    """
    logging.basicConfig(
        level=logging.ERROR
        if quiet
        else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)],
        format="coverwatch: %(levelname)s: %(message)s",
        stream=sys.stderr,
    )
    ctx.obj = {"db": db, "traffic_dir": traffic_dir, "quiet": quiet}


def _db(ctx: click.Context) -> str:
    from coverwatch.store import default_db

    return str(ctx.obj.get("db") or default_db())


def need_pcap() -> None:
    """Refuse (exit code 2) when the pcap extra that reads captures is not installed."""
    from coverwatch.errors import InputError

    try:
        import dpkt  # noqa: F401
        import duckdb  # noqa: F401
    except ImportError as e:
        raise InputError("traffic analysis needs the pcap extra: pip install -e '.[pcap]'") from e


def _traffic_dir(ctx: click.Context) -> str:
    from coverwatch.pipeline import default_traffic_dir

    return str(ctx.obj.get("traffic_dir") or default_traffic_dir(_db(ctx)))


def _known_site(inventory: DeviceReader, site: str | None) -> None:
    """Refuse a ``--site`` the inventory does not know (exit code 2), naming the known sites.

    A mistyped site must not read as an empty, clean estate: a report of zero devices would
    be signed as "nothing found"."""
    from coverwatch.errors import InputError

    if site is None:
        return
    known = inventory.sites()
    if site not in known:
        shown = ", ".join(repr(s) for s in known[:50]) or "none yet: scan or import first"
        more = f" and {len(known) - 50} more" if len(known) > 50 else ""
        raise InputError(f"no site {site!r} in the inventory (known sites: {shown}{more})")


JSONL_HELP = "One JSON object per line (JSON Lines), the same objects as --json."


def one_format(**chosen: bool) -> None:
    """Refuse two output formats at once (a usage error naming them)."""
    given = [f"--{name}" for name, on in chosen.items() if on]
    if len(given) > 1:
        raise click.UsageError(f"choose one of {' and '.join(given)}")


def print_documents(documents: list[Any], jsonl: bool) -> None:
    """A JSON array (indented) or, with ``jsonl``, JSON Lines: one compact object per line."""
    import json

    if jsonl:
        for document in documents:
            click.echo(json.dumps(document, default=str, separators=(",", ":")))
    else:
        click.echo(json.dumps(documents, indent=2, default=str))


class FiniteFloat(click.FloatRange):
    """A float option in a range that also refuses NaN (click's ranges let NaN through:
    every comparison with NaN is false, so ``--timeout nan`` would never time out)."""

    name = "finite float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if number != number:
            self.fail(f"{value!r} is not a number", param, ctx)
        return number


#: The sweep options ``scan`` and ``sensor`` share (one definition, one help text).
PORTS_OPTION = click.option(
    "--ports",
    "ports_text",
    metavar="LIST",
    default=",".join(map(str, DEFAULT_PORTS)),
    show_default=True,
    help="TCP ports to sweep, e.g. 80,443,554 or 1-1024.",
)
TIMEOUT_OPTION = click.option(
    "--timeout",
    default=3.0,
    show_default=True,
    type=FiniteFloat(0.05, 120),
    help="Seconds per connect and per read.",
)
RATE_OPTION = click.option(
    "--rate",
    type=FiniteFloat(0.1, None),
    default=None,
    help="Most new connections per second (default: no limit).",
)
MAX_HOSTS_OPTION = click.option(
    "--max-hosts",
    default=DEFAULT_MAX_HOSTS,
    show_default=True,
    help="Refuse target lists that expand to more hosts than this.",
)


#: Where the egress aggregations run (``traffic egress``, and the traffic rules of ``audit`` and
#: ``report``); the names of ``traffic.engines.EngineKind``, not imported here to start fast.
ENGINE_OPTION = click.option(
    "--engine",
    type=click.Choice(["duckdb", "spark"]),
    default="duckdb",
    show_default=True,
    help="Where the flows are aggregated: DuckDB on this machine, or Apache Spark "
    "(needs the spark extra and Java 17+).",
)
MASTER_OPTION = click.option(
    "--master",
    metavar="URL",
    help="With --engine spark: the Spark master, e.g. spark://host:7077 or yarn "
    "(default: local[*], every core of this machine). The executors must be able to read "
    "the flow store (--traffic-dir: a shared path or an hdfs://, s3a://... URL).",
)


def _flow_engine(engine: str, master: str | None) -> FlowEngine:
    """The engine the --engine and --master options name."""
    from coverwatch.traffic.engines import ENGINES, EngineKind

    kind = EngineKind(engine)
    if master is not None and kind is not EngineKind.SPARK:
        raise click.UsageError("--master is for --engine spark")
    return ENGINES[kind](master)
