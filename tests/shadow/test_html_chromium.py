"""The HTML report rendered by a real browser: headless Chromium (Debian's `chromium` package).

CI (CI=true) installs chromium (.ci/run) and this test FAILS there when it is missing; on a developer
machine without chromium it is skipped.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess

import pytest

from migrate.shadow.reports import html as html_report
from migrate.shadow.store import load_run
from migrate.shadow.verdict import Options, compute
from synthetic_runs import EXAMPLE

pytestmark = pytest.mark.slow
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    message = "headless Chromium is needed to check the HTML report (apt-get install -y chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(message + ": CI must install it (.ci/run does)")
    pytest.skip(message)


def browse(binary: str, profile, *args: str) -> subprocess.CompletedProcess:
    profile.mkdir(exist_ok=True)
    return subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=90)


def test_html_report_renders_verdict_and_charts_in_chromium(tmp_path):
    binary = chromium()
    from typer.testing import CliRunner

    from migrate.shadow.cli import app

    run = tmp_path / "run"
    result = CliRunner().invoke(app, ["run", str(EXAMPLE), "--backend", "replay", "--noise-floor", "--out", str(run), "-q"])
    assert result.exit_code == 0, result.output
    doc = compute(load_run(run), Options(volume_per_day=10_000))
    page = tmp_path / "report.html"
    page.write_text(html_report.render(doc), encoding="utf-8")
    url = page.as_uri()

    dom = browse(binary, tmp_path / "profile-dom", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert 'data-verdict="FAIL"' in html
    assert doc["verdict"]["headline"].split(";")[0] in html.replace("&amp;", "&")
    for chart in ("chart-parity", "chart-slices", "chart-cost", "chart-latency"):
        start = html.index(f'<svg id="{chart}"')
        body = html[start:html.index("</svg>", start)]
        assert "<line" in body or "<rect" in body, chart
    assert html.count("<polyline") == 3 and html.count("<circle") >= 4
    assert "reply-draft" in html and "Worst disagreements, side by side" in html

    shot = tmp_path / "report.png"
    png = browse(binary, tmp_path / "profile-png", f"--screenshot={shot}", "--window-size=1280,2000", url)
    assert png.returncode == 0 and shot.is_file(), png.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 2000) and len(data) > 50_000  # a rendered page, not a blank one
