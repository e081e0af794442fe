"""Executed report notebooks to HTML for people (the nbconvert template ``templates/pack``).

The HTML has no code, no ``In [ ]:`` / ``Out[n]:`` prompts, no stderr (warnings and log
lines), no scripts fetched from the internet; the report's title block opens the body;
images stay embedded as data URIs with their alt text; a print stylesheet lays the pages
out landscape (A4 and Letter alike), tables and figures within the page width, table
headers repeated on every page.

Alt text
--------
A figure gets its ``<img alt>`` from its output's metadata: in a notebook, show a
matplotlib figure with ``workbench.reporting.show_figure(fig, "what the chart shows")``
(or ``display(Image(png), metadata={"image/png": {"alt": "..."}})``). Without metadata the
output's ``text/plain`` is used when it is a description (not ``<Figure size ...>``);
otherwise the image says that no description was provided.
"""

from __future__ import annotations

import copy
import html
import re
from pathlib import Path

__all__ = ["TEMPLATE_DIR", "TEMPLATE_NAME", "notebook_to_html"]

#: The folder holding the ``pack`` nbconvert template (``extra_template_basedirs``).
TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
TEMPLATE_NAME = "pack"

_H1_RE = re.compile(r"<h1\b[^>]*>(.*?)</h1>", re.DOTALL | re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]+>")
_STYLE_RE = re.compile(r"<style\b.*?</style>", re.DOTALL | re.IGNORECASE)
_CSS_COMMENT_RE = re.compile(r"/\*.*?\*/", re.DOTALL)


def _text(fragment: str) -> str:
    return " ".join(html.unescape(_TAG_RE.sub(" ", fragment)).split())


def _title_of(title_html: str) -> str:
    m = _H1_RE.search(title_html or "")
    return _text(m.group(1) if m else _STYLE_RE.sub("", title_html or ""))


def notebook_to_html(nb, *, title_html: str, title: str | None = None) -> str:
    """Convert an executed notebook to the HTML of a report for people.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The executed notebook (not modified).
    title_html : str
        The title block (:func:`workbench.reporting.title_block`), inserted at the top of
        the body.
    title : str, optional
        The page's ``<title>``; default: the text of the title block's ``<h1>``.

    Returns
    -------
    str
        A complete HTML document.
    """
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.from_dict(copy.deepcopy(dict(nb)))
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = [o for o in cell.get("outputs", [])
                               if not (o.get("output_type") == "stream"
                                       and o.get("name") == "stderr")]
    page_title = title or _title_of(title_html) or nb.metadata.get("title") or "Report"
    nb.metadata["title"] = page_title
    exporter = HTMLExporter(template_name=TEMPLATE_NAME,
                            extra_template_basedirs=[str(TEMPLATE_DIR)],
                            exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True,
                            exclude_anchor_links=True)
    body, _ = exporter.from_notebook_node(
        nb, resources={"wb_title_html": title_html, "metadata": {"name": page_title}})
    # the lab stylesheet's comments speak of "Out[] prompts": a pack has neither
    return _STYLE_RE.sub(lambda m: _CSS_COMMENT_RE.sub("", m.group(0)), body)
