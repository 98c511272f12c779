"""Printing an HTML report to PDF with a local headless Chromium (no network, no script).

Chromium's own ``--print-to-pdf`` (https://developer.chrome.com/docs/chromium/headless)
honours the page's ``@page`` size and margins; ``--no-pdf-header-footer`` leaves out the
date and URL it would add. It runs with a throw-away profile and a time limit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from coverwatch.report.interface import ReportError

#: Browsers tried in order when ``COVERWATCH_CHROMIUM`` does not name one.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT = 120.0


def find_chromium() -> str:
    """The Chromium to print with; ReportError when there is none."""
    given = os.environ.get("COVERWATCH_CHROMIUM")
    for name in ([given] if given else []) + list(BROWSERS):
        found = shutil.which(name)
        if found:
            return found
    raise ReportError(
        "printing to PDF needs Chromium (apt install chromium) or COVERWATCH_CHROMIUM=PATH; "
        "write the summary as .html and print it from a browser instead"
    )


def print_pdf(html: str, path: Path) -> Path:
    """Print ``html`` to the PDF file ``path`` (written whole, then renamed into place)."""
    browser = find_chromium()
    with tempfile.TemporaryDirectory(prefix="coverwatch-pdf-") as scratch:
        page = Path(scratch) / "summary.html"
        page.write_text(html, encoding="utf-8")
        printed = Path(scratch) / "summary.pdf"
        command = [
            browser,
            "--headless",
            # NOTE: Chromium's sandbox cannot start as root or in many containers; the page is
            # our own, script-free, CSP-locked HTML and the browser may fetch nothing.
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            f"--user-data-dir={Path(scratch) / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={printed}",
            page.as_uri(),
        ]
        try:
            subprocess.run(command, capture_output=True, timeout=TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ReportError(f"Chromium could not print {path.name}: {e}") from e
        if not printed.exists() or printed.stat().st_size == 0:
            raise ReportError(f"Chromium printed nothing for {path.name} ({browser})")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".partial")
            shutil.copyfile(printed, partial)
            partial.replace(path)
        except OSError as e:
            raise ReportError(f"cannot write report {path}: {e.strerror}") from e
    return path
