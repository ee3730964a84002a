"""The report in a real headless Chromium (Debian's ``chromium``): it loads without console or
page errors, every figure decodes, nothing is fetched from the network, and a full-page
screenshot is taken (in the test's tmp folder) in both languages.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.report import build_report
from tests.pipelines.report.helpers import copy_run

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed (apt-get install --no-install-recommends chromium)",
)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
    )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_report_renders_in_chromium(browser, full_run, demo_run, tmp_path, lang):
    run = full_run if lang == "fr" else copy_run(demo_run, tmp_path / "run")
    report = build_report(run, lang=lang)
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    console_errors, page_errors, requests = [], [], []
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: page_errors.append(str(err)))
    page.on("request", lambda request: requests.append(request.url))
    try:
        page.goto(report.as_uri(), wait_until="load")
        images = page.evaluate(
            "Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth])"
        )
        lang_attr = page.evaluate("document.documentElement.lang")
        banner = page.inner_text("#synthetic-banner")
        shot = tmp_path / f"report_{lang}.png"
        page.screenshot(path=str(shot), full_page=True)
    finally:
        page.close()
    assert console_errors == [] and page_errors == []
    # Every <img> of the file is there: the report's own figures (+ 3 scenario images in fr).
    assert len(images) == report.read_text(encoding="utf-8").count("<img ")
    assert len(images) >= (10 if lang == "fr" else 6)
    assert all(complete and width > 0 for _, complete, width in images), images
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    assert requests[0] == report.as_uri()
    assert lang_attr == lang
    assert banner.strip()
    assert shot.stat().st_size > 50_000


#: The report's A4 page less its @page margins, in CSS pixels (96 per inch): portrait
#: 210 − 2 × 12 mm, the landscape page of wide tables 297 − 2 × 14 mm.
PORTRAIT_PX = int((210 - 2 * 12) / 25.4 * 96)
LANDSCAPE_PX = int((297 - 2 * 14) / 25.4 * 96)
_TABLES_JS = """() => Array.from(document.querySelectorAll('table')).map(t => [
    t.id, t.scrollWidth, t.parentElement.clientWidth, getComputedStyle(t.parentElement).page,
    getComputedStyle(t.parentElement).overflowX, t.parentElement.scrollWidth])"""


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_tables_fit_the_printed_page_and_scroll_on_screen(browser, demo_run, tmp_path, lang):
    """In print every table fits its page's width (the 15-column scenario table on a
    landscape page of its own); on a narrow screen the page never scrolls sideways, a wide
    table scrolls inside its frame."""
    run = copy_run(demo_run, tmp_path / "run", scenarios=True)
    report = build_report(run, lang=lang)
    page = browser.new_page(viewport={"width": PORTRAIT_PX, "height": 1000})
    try:
        page.emulate_media(media="print")
        page.goto(report.as_uri(), wait_until="load")
        tables = {row[0]: row[1:] for row in page.evaluate(_TABLES_JS)}
        assert "scenarios-table" in tables and "hottest-table" in tables
        for name, (width, room, named, _, _) in tables.items():
            if name == "scenarios-table":
                assert named == "wide"
            else:
                assert named == "auto" and width <= room, (name, width, room)
        page.set_viewport_size({"width": LANDSCAPE_PX, "height": 1000})
        width, room, *_ = page.evaluate(_TABLES_JS)[-1][1:]
        assert width <= room <= LANDSCAPE_PX, (width, room)
        pdf = page.pdf(format="A4")
        # The landscape page of the wide table: its media box is wider than high.
        boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
        assert any(float(w) > float(h) for w, h in boxes) and any(
            float(w) < float(h) for w, h in boxes
        )
        page.emulate_media(media="screen")
        page.set_viewport_size({"width": 420, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth") <= 420
        tables = {row[0]: row[1:] for row in page.evaluate(_TABLES_JS)}
        width, room, _, overflow, inner = tables["scenarios-table"]
        assert width > room and overflow == "auto" and inner > room
    finally:
        page.close()
