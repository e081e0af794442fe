"""The pack prints: the reserve and collections reports, executed by papermill and turned into
HTML for people, are printed to PDF by Chromium on A4 and Letter landscape, and nothing is
wider than the printable width (no clipped column, figure or text)."""


import nbformat
import papermill as pm
import pytest

from ..conftest import ROOT

from . import ARGS, CHROMIUM, require_chromium

require_chromium()

# printable width in CSS pixels (96 per inch) with the pack's 12 mm page margins
PAGES = {"A4": (297 - 24) / 25.4 * 96, "Letter": (279.4 - 24) / 25.4 * 96}


@pytest.fixture(scope="module")
def reports(demo_dir, tmp_path_factory):
    from workbench.reporting import notebook_to_html, title_block

    out = tmp_path_factory.mktemp("print")
    pages = {}
    for name, params in (("quarterly_reserve", {"quarter": "2026Q3"}),
                         ("collections_overview", {"as_of": "2026-09-30", "period": "2026Q3",
                                                   "prior_period": "2026Q2"})):
        dst = out / f"{name}.ipynb"
        pm.execute_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"), str(dst),
                            kernel_name="python3", cwd=str(ROOT / "notebooks"), progress_bar=False,
                            parameters={"ledger_dir": str(demo_dir), **params})
        block = title_block("Test Trading Co.", name.replace("_", " ").title(), "2026Q3",
                            "2026-09-30", "2026-11-23T09:00:00+00:00", "ab" * 32)
        html = notebook_to_html(nbformat.read(dst, as_version=4), title_html=block)
        (out / f"{name}.html").write_text(html)
        pages[name] = out / f"{name}.html"
    return pages


@pytest.mark.parametrize("paper", sorted(PAGES))
@pytest.mark.parametrize("name", ["quarterly_reserve", "collections_overview"])
def test_prints_landscape_without_clipping(reports, name, paper, tmp_path):
    from playwright.sync_api import sync_playwright

    width = int(PAGES[paper])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": 1000})
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                   else route.abort())
        page.goto(reports[name].as_uri())
        page.emulate_media(media="print")
        overflow = page.evaluate("""(width) => {
            const out = [];
            for (const el of document.querySelectorAll('table, img, pre, p, h1, h2, h3, li, div')) {
                const r = el.getBoundingClientRect();
                if (r.width > 0 && r.right > width + 1) out.push(el.tagName + ' ' +
                    (el.textContent || el.getAttribute('alt') || '').slice(0, 60) + ' right=' + Math.round(r.right));
            }
            return {scroll: document.documentElement.scrollWidth, over: out.slice(0, 10)};
        }""", width)
        assert overflow["scroll"] <= width + 1, overflow
        assert overflow["over"] == [], overflow["over"]
        pdf = tmp_path / f"{name}-{paper}.pdf"
        page.pdf(path=str(pdf), format=paper, landscape=True, print_background=True,
                 prefer_css_page_size=False, margin={k: "12mm" for k in
                                                     ("top", "right", "bottom", "left")})
        browser.close()
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page") >= 2
    text = reports[name].read_text()
    assert "Test Trading Co." in text and "@page" in text
