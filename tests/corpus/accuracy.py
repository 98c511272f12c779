"""Attribution accuracy on the real-device corpus (``tests/corpus/*.yaml``).

Every row of the corpus is one real device's strings, as a third party published them, with
what the device really is. ``measure()`` runs each row through ``coverwatch.identify.attribute``
and scores, per signal family (one YAML file) and overall:

- ``video_typed``: video devices (camera, NVR, DVR, encoder, intercom) typed as a video device;
- ``false_video``: devices of another known type (printer, router, ...) typed as video (lower
  is better);
- ``maker``: rows whose real maker is known, attributed to that maker;
- ``brand``: rows whose brand is known, attributed that brand;
- ``covered_recall``: devices of a covered vendor (Hikvision, Dahua, Huawei, ZTE, Hytera and
  their brands) flagged covered;
- ``covered_precision``: of the rows flagged covered whose status the source establishes, the
  share really covered.

Besides each family and ``overall``, ``independent`` scores the rows whose source page no
knowledge file cites: a row from a page the knowledge base also learned from measures nothing,
so that line is the honest one.

Run ``python -m tests.corpus.accuracy`` from the repository root for the Markdown table;
``--misses`` also lists every row attributed wrongly, ``--write-readme`` refreshes the table in
``tests/corpus/README.md``.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from coverwatch.identify import Knowledge, attribute, load_knowledge
from coverwatch.models import VIDEO_TYPES, Attribution

#: Where the corpus lives: one YAML file per signal family.
CORPUS_DIR = Path(__file__).resolve().parent

#: The knowledge base whose sources a row must not share to count as independent.
KNOWLEDGE_DIR = CORPUS_DIR.parents[1] / "src" / "coverwatch" / "knowledge"

#: Keys a row's ``expect`` may carry.
EXPECT_KEYS = frozenset({"maker", "brand", "device_type", "covered"})

#: Device types that count as video equipment (the engine's own VIDEO_TYPES, as strings).
VIDEO_TYPE_NAMES = frozenset(t.value for t in VIDEO_TYPES)

#: The scores, in table order, and whether higher is better.
METRICS: tuple[tuple[str, bool], ...] = (
    ("video_typed", True),
    ("false_video", False),
    ("maker", True),
    ("brand", True),
    ("covered_recall", True),
    ("covered_precision", True),
)

README_START = "<!-- accuracy:start -->"
README_END = "<!-- accuracy:end -->"


class CorpusError(ValueError):
    """A corpus file is not a list of well-formed rows."""


@dataclass(frozen=True)
class CorpusRow:
    """One real device: the strings it showed and what it really is."""

    family: str
    """The file (signal family) the row comes from, e.g. ``http``."""
    index: int
    """Position of the row in its file (0-based), for messages."""
    signals: tuple[tuple[str, str], ...]
    """(signal, value) pairs, as ``attribute`` takes them."""
    expect: Mapping[str, object]
    """What the source establishes: any of maker, brand, device_type, covered."""
    source: str
    """The page the strings come from."""

    @property
    def label(self) -> str:
        """``family[index]`` for messages."""
        return f"{self.family}[{self.index}]"


@dataclass(frozen=True)
class Ratio:
    """hits out of total; ``rate`` is None when no row applies."""

    hits: int = 0
    """Rows that met the metric."""
    total: int = 0
    """Rows the metric applies to."""

    @property
    def rate(self) -> float | None:
        """hits / total, or None when nothing applies."""
        return self.hits / self.total if self.total else None

    def add(self, hit: bool) -> Ratio:
        """This ratio with one more applicable row."""
        return Ratio(self.hits + int(hit), self.total + 1)

    def __str__(self) -> str:
        rate = self.rate
        return "n/a" if rate is None else f"{rate:.0%} ({self.hits}/{self.total})"


@dataclass(frozen=True)
class FamilyScore:
    """The scores of one family (or of the whole corpus)."""

    rows: int = 0
    """Rows scored."""
    ratios: Mapping[str, Ratio] = field(default_factory=dict)
    """Metric name (see METRICS) to its ratio."""

    def __getitem__(self, metric: str) -> Ratio:
        return self.ratios.get(metric, Ratio())


@dataclass(frozen=True)
class Outcome:
    """One row and what the engine made of it."""

    row: CorpusRow
    """The corpus row."""
    attribution: Attribution
    """The engine's answer."""

    def verdicts(self) -> Iterator[tuple[str, bool]]:
        """(metric, hit) for every metric that applies to this row."""
        expect, got = self.row.expect, self.attribution
        got_type = got.device_type.value if got.device_type else None
        want_type = expect.get("device_type")
        if isinstance(want_type, str):
            if want_type in VIDEO_TYPE_NAMES:
                yield "video_typed", got_type in VIDEO_TYPE_NAMES
            else:
                # A hit here is a *false* video typing: lower is better.
                yield "false_video", got_type in VIDEO_TYPE_NAMES
        if "maker" in expect:
            yield "maker", got.maker == expect["maker"]
        if "brand" in expect:
            yield "brand", got.brand == expect["brand"]
        covered = expect.get("covered")
        if covered is True:
            yield "covered_recall", got.covered is not None
        if isinstance(covered, bool) and got.covered is not None:
            yield "covered_precision", covered

    @property
    def wrong(self) -> list[str]:
        """Names of the metrics this row failed."""
        return [m for m, hit in self.verdicts() if hit != _higher_is_better(m)]


def _higher_is_better(metric: str) -> bool:
    return dict(METRICS)[metric]


def _pairs(signals: object, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(signals, Mapping) or not signals:
        raise CorpusError(f"{where}: 'signals' must be a non-empty mapping")
    pairs: list[tuple[str, str]] = []
    for key, value in signals.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if not isinstance(item, str | int) or isinstance(item, bool) or str(item) == "":
                raise CorpusError(f"{where}: signal {key!r} has a bad value {item!r}")
            pairs.append((str(key), str(item)))
    return tuple(pairs)


def parse_rows(family: str, data: object) -> list[CorpusRow]:
    """The rows of one corpus file's parsed YAML; CorpusError names the bad row."""
    if not isinstance(data, list):
        raise CorpusError(f"{family}: the file must hold a list of rows")
    rows = []
    for index, raw in enumerate(data):
        where = f"{family}[{index}]"
        if not isinstance(raw, Mapping) or set(raw) != {"signals", "expect", "source"}:
            raise CorpusError(f"{where}: a row has exactly signals, expect and source")
        expect, source = raw["expect"], raw["source"]
        if not isinstance(expect, Mapping) or not expect or set(expect) - EXPECT_KEYS:
            raise CorpusError(f"{where}: 'expect' takes some of {sorted(EXPECT_KEYS)}")
        if not isinstance(source, str) or not source.startswith(("https://", "http://")):
            raise CorpusError(f"{where}: 'source' must start with the page's URL")
        signals = _pairs(raw["signals"], where)
        rows.append(CorpusRow(family, index, signals, dict(expect), source))
    return rows


def corpus_files(directory: Path = CORPUS_DIR) -> list[Path]:
    """The corpus files, one per signal family, in name order."""
    return sorted(directory.glob("*.yaml"))


def load_corpus(directory: Path = CORPUS_DIR) -> list[CorpusRow]:
    """Every row of every corpus file."""
    rows: list[CorpusRow] = []
    for path in corpus_files(directory):
        with path.open(encoding="utf-8") as handle:
            rows += parse_rows(path.stem, yaml.safe_load(handle))
    return rows


def _bare_url(text: str) -> str:
    """A URL without scheme, ``www.`` or a commit in a GitHub file link, to compare citations."""
    text = re.sub(r"https?://(?:www\.)?", "", text)
    return re.sub(r"/blob/[0-9a-f]{7,40}/", "/blob/", text)


@cache
def _knowledge_citations() -> str:
    return _bare_url("\n".join(p.read_text("utf-8") for p in sorted(KNOWLEDGE_DIR.rglob("*.yaml"))))


def cited_by_knowledge(row: CorpusRow) -> bool:
    """Whether a knowledge file cites the page this row comes from (then it measures nothing)."""
    page = _bare_url(row.source.split()[0]).rstrip("/.,;)")
    return re.search(re.escape(page) + r"(?![\w/.-])", _knowledge_citations()) is not None


def evaluate(rows: Iterable[CorpusRow], knowledge: Knowledge | None = None) -> list[Outcome]:
    """Attribute every row."""
    kb = knowledge or load_knowledge()
    return [Outcome(row, attribute(row.signals, kb)) for row in rows]


def score(outcomes: Sequence[Outcome]) -> dict[str, FamilyScore]:
    """Per-family scores plus ``overall`` and ``independent``."""
    ratios: dict[str, dict[str, Ratio]] = {}
    counts: dict[str, int] = {}
    for outcome in outcomes:
        families = [outcome.row.family, "overall"]
        if not cited_by_knowledge(outcome.row):
            families.append("independent")
        for family in families:
            counts[family] = counts.get(family, 0) + 1
            family_ratios = ratios.setdefault(family, {})
            for metric, hit in outcome.verdicts():
                family_ratios[metric] = family_ratios.get(metric, Ratio()).add(hit)
    return {family: FamilyScore(counts[family], ratios[family]) for family in counts}


def measure(knowledge: Knowledge | None = None) -> dict[str, FamilyScore]:
    """Score the whole corpus with ``knowledge`` (the shipped knowledge base by default)."""
    return score(evaluate(load_corpus(), knowledge))


def table(scores: Mapping[str, FamilyScore]) -> str:
    """The scores as a Markdown table, families in name order, then overall and independent."""
    totals = ("overall", "independent")
    names = [*sorted(f for f in scores if f not in totals), *(t for t in totals if t in scores)]
    header = "| family | rows | " + " | ".join(m for m, _ in METRICS) + " |"
    lines = [header, "|" + "---|" * (len(METRICS) + 2)]
    for name in names:
        s = scores[name]
        cells = " | ".join(str(s[m]) for m, _ in METRICS)
        lines.append(f"| {name} | {s.rows} | {cells} |")
    return "\n".join(lines)


def misses(outcomes: Iterable[Outcome]) -> str:
    """One line per row the engine got wrong: what was expected and what came out."""
    lines = []
    for outcome in outcomes:
        wrong = outcome.wrong
        if wrong:
            got = outcome.attribution
            got_type = got.device_type.value if got.device_type else None
            lines.append(
                f"{outcome.row.label} {','.join(wrong)}: expected {dict(outcome.row.expect)}, "
                f"got maker={got.maker} brand={got.brand} type={got_type} covered={got.covered}"
                f" <- {list(outcome.row.signals)}"
            )
    return "\n".join(lines)


def write_readme(markdown: str, readme: Path = CORPUS_DIR / "README.md") -> None:
    """Replace the table between the README's accuracy markers."""
    text = readme.read_text(encoding="utf-8")
    head, sep, rest = text.partition(README_START)
    _, sep2, tail = rest.partition(README_END)
    if not sep or not sep2:
        raise CorpusError(f"{readme}: accuracy markers not found")
    readme.write_text(f"{head}{README_START}\n{markdown}\n{README_END}{tail}", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Print the accuracy table (and optionally the misses); 0 always."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--misses", action="store_true", help="list the rows attributed wrongly")
    parser.add_argument("--write-readme", action="store_true", help="refresh README.md's table")
    args = parser.parse_args(argv)
    outcomes = evaluate(load_corpus())
    markdown = table(score(outcomes))
    sys.stdout.write(markdown + "\n")
    if args.misses:
        sys.stdout.write("\n" + misses(outcomes) + "\n")
    if args.write_readme:
        write_readme(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
