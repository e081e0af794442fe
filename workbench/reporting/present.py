"""Tables and blocks for people: business labels, currency-exact amounts, totals, notes.

A :class:`Table` describes a frame once (which columns are money in integer minor units,
which are percentages, counts, dates) and is rendered from that one description three
ways: the text frame (:func:`display_frame`), the HTML table (:func:`people_table`, a pandas
Styler that prints) and the Excel sheet (:func:`workbench.reporting.excel.write_workbook`).

Amounts are formatted from integer minor units by :func:`workbench.money.format_amount`, so
each row shows its currency's ISO 4217 decimals (USD ``1,234.50``, JPY ``1,235``, KWD
``1.235``) and totals are sums of integers, exact to the minor unit.

Figures in report notebooks go through :func:`show_figure`, which gives the PNG an ``alt``
text; the pack's HTML (:func:`workbench.reporting.html.notebook_to_html`) puts it on the
``<img>``.
"""

from __future__ import annotations

import base64
import html
import io
import re
import warnings

import jinja2
import pandas as pd
from pandas.io.formats.style import Styler

from .cells import NUMERIC_KINDS, display_frame
from .labels import LABELS, Table, label_for

__all__ = ["LABELS", "Table", "display_frame", "label_for", "people_table", "print_width",
           "show", "show_figure", "summary_tiles", "title_block"]

_TABLE_TPL = """{% extends "html_table.tpl" %}
{% block tbody %}
{{ super() }}
{% if wb_footer %}
  <tfoot>
{% for line in wb_footer %}
    <tr><td class="wb-note" colspan="{{ wb_ncols }}">{{ line }}</td></tr>
{% endfor %}
  </tfoot>
{% endif %}
{% endblock tbody %}
"""


class PeopleTable(Styler):
    """A pandas Styler whose HTML carries a footer (the note, the rows shown) in ``<tfoot>``."""

    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.DictLoader({"wb_table.tpl": _TABLE_TPL}),
                                    Styler.loader]),
        trim_blocks=True)
    template_html_table = env.get_template("wb_table.tpl")
    footer: tuple[str, ...] = ()

    def to_html(self, *args, **kwargs):
        kwargs.setdefault("wb_footer", [html.escape(line) for line in self.footer])
        kwargs.setdefault("wb_ncols", max(1, len(self.columns) - len(self.hidden_columns)))
        return super().to_html(*args, **kwargs)


_NUMBER_TD = "text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums;"
_TEXT_TD = "text-align: left; white-space: normal; overflow-wrap: anywhere; min-width: {em}em;"
_SHORT_TD = "text-align: left; white-space: nowrap;"

#: Printable width of the narrower landscape page (Letter, 12 mm margins), CSS px.
PAGE_WIDTH_PX = 960
_CHAR_PX = 7.0          # an average character at 9 pt (12 px), a little generous
_CELL_PAD_PX = 16
_LONG_TEXT = 30         # text columns with longer cells get a wider minimum


def _text_em(texts: list[str]) -> int:
    return 12 if max((len(t) for t in texts), default=0) > _LONG_TEXT else 6


def print_width(df: pd.DataFrame) -> float:
    """Estimated width in CSS px of a :func:`display_frame` table printed at 9 pt: numbers
    never break, headers break between words, text columns at their minimum width."""
    kinds = df.attrs.get("kinds", {})
    total = 0.0
    for label in df.columns:
        texts = [str(t) for t in df[label]]
        word = max((len(w) for w in str(label).split()), default=0)
        if kinds.get(label) in NUMERIC_KINDS or kinds.get(label) in ("date", "currency", "bool"):
            chars = max([word] + [len(t) for t in texts])
            total += chars * _CHAR_PX
        else:
            longest_word = max([word] + [len(w) for t in texts for w in t.split()])
            total += max(_text_em(texts) * 12, min(longest_word, 20) * _CHAR_PX)
        total += _CELL_PAD_PX
    return total


def _uuid(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name) or "table"


def people_table(table: Table) -> PeopleTable:
    """The table as a pandas Styler for people (notebooks, the pack's HTML).

    No index, the title as caption, numbers right-aligned and never broken, text wrapped
    (long reasons wrap instead of widening the page), total rows bold, the note (and, with
    ``max_rows``, "first N of M rows; all rows in the workbook") in the table's footer.
    """
    df = display_frame(table)
    n_totals = df.attrs["total_rows"]
    n_data = len(df) - n_totals
    kinds = df.attrs["kinds"]
    footer = []
    if table.max_rows is not None and n_data > table.max_rows:
        df = pd.concat([df.iloc[: table.max_rows], df.iloc[n_data:]])
        footer.append(f"First {table.max_rows:,} of {n_data:,} rows; all rows in the workbook.")
        n_data = table.max_rows
    df = df.reset_index(drop=True)
    if table.note:
        footer.insert(0, table.note)

    width = print_width(df)
    classes = "wb-table"
    if width > PAGE_WIDTH_PX:
        # the pack prints these tables smaller (7 pt, narrow padding: about 0.7 of the width)
        classes += " wb-wide"
        if width * 0.7 > PAGE_WIDTH_PX:
            warnings.warn(f"table {table.name!r} is about {width:,.0f} px wide at 9 pt; a printed "
                          f"page holds {PAGE_WIDTH_PX} px: choose fewer columns with columns=",
                          stacklevel=2)
    st = PeopleTable(df, uuid=_uuid(table.name), cell_ids=False)
    st.footer = tuple(footer)
    st.format(escape="html")         # customer names and reasons are text, not markup
    st.hide(axis="index")
    st.set_caption(html.escape(table.title))
    st.set_table_attributes(f'class="{classes}"')
    st.set_table_styles([
        {"selector": "", "props": "border-collapse: collapse; table-layout: auto; "
                                  "max-width: 100%; margin: 0 0 1.2em 0;"},
        {"selector": "caption", "props": "caption-side: top; text-align: left; font-weight: 600;"
                                         " font-size: 1.1em; padding: 0 0 6px 0; color: #1f2328;"},
        {"selector": "th", "props": "text-align: left; vertical-align: bottom; font-weight: 600;"
                                    " white-space: normal; padding: 4px 8px;"
                                    " border-bottom: 1px solid #57606a;"},
        {"selector": "td", "props": "vertical-align: top; padding: 3px 8px;"
                                    " border-bottom: 1px solid #eaeef2;"},
        {"selector": "td.wb-note", "props": "text-align: left; white-space: normal; color: #57606a;"
                                            " font-size: 0.85em; border-bottom: none;"
                                            " padding-top: 6px;"},
    ])
    per_column = {}
    for label, kind in kinds.items():
        if kind in NUMERIC_KINDS:
            per_column[label] = [{"selector": "td", "props": _NUMBER_TD},
                                 {"selector": "th", "props": "text-align: right;"}]
        elif kind in ("date", "currency", "bool"):
            per_column[label] = [{"selector": "td", "props": _SHORT_TD}]
        else:
            em = _text_em([str(t) for t in df[label]])
            per_column[label] = [{"selector": "td", "props": _TEXT_TD.format(em=em)}]
    st.set_table_styles(per_column, overwrite=False)
    if n_totals:
        bold = [{"selector": "td", "props": "font-weight: 700;"}]
        styles = {i: list(bold) for i in range(n_data, n_data + n_totals)}
        styles[n_data] = bold + [{"selector": "td", "props": "border-top: 1px solid #57606a;"}]
        st.set_table_styles(styles, axis=1, overwrite=False)
    return st


def show(table: Table) -> None:
    """Display :func:`people_table` in a notebook."""
    from IPython.display import display

    display(people_table(table))


def show_figure(fig, alt: str, *, dpi: int = 150) -> None:
    """Display a matplotlib figure (or the figure of an Axes) as a PNG with alt text, and
    close it.

    The alt text goes into the output's metadata (``{"image/png": {"alt": alt}}``) and its
    ``text/plain``; the pack's HTML puts it on the ``<img alt>``. Closing the figure keeps
    the inline backend from showing it a second time without a description.

    Parameters
    ----------
    fig : Figure or Axes
    alt : str
        What the chart shows, for readers who cannot see it ("Open AR by aging bucket,
        USD: most of it current; 12 % over 60 days").
    dpi : int
        Resolution of the PNG; it is displayed at 96 dpi (sharp when printed).
    """
    from IPython.display import display

    if not isinstance(alt, str) or not alt.strip():
        raise ValueError("alt must describe the figure for readers who cannot see it; "
                         f"got {alt!r}")
    figure = fig if hasattr(fig, "savefig") else fig.figure
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    png = buf.getvalue()
    width = int.from_bytes(png[16:20], "big")     # IHDR width of the PNG
    meta = {"alt": alt.strip(), "width": max(1, round(width * 96 / dpi))}
    display({"image/png": base64.b64encode(png).decode("ascii"), "text/plain": alt.strip()},
            raw=True, metadata={"image/png": meta})
    import matplotlib.pyplot as plt

    plt.close(figure)


_TILES_STYLE = """<style>
.wb-sum-tiles{display:flex;flex-wrap:wrap;gap:8px;margin:6px 0 14px 0;max-width:100%;
  font-family:inherit}
.wb-sum-tile{flex:1 1 150px;max-width:260px;box-sizing:border-box;border:1px solid #d0d7de;
  border-radius:6px;padding:8px 12px;background:#fafbfc;break-inside:avoid;
  page-break-inside:avoid;-webkit-print-color-adjust:exact;print-color-adjust:exact}
.wb-sum-tile .l{font-size:0.85em;color:#57606a}
.wb-sum-tile .v{font-size:1.45em;font-weight:600;color:#1f2328;white-space:nowrap;
  font-variant-numeric:tabular-nums}
.wb-sum-tile .n{font-size:0.8em;color:#6e7781;overflow-wrap:anywhere}
</style>"""


def summary_tiles(items: list[tuple[str, str, str]]) -> str:
    """HTML tiles for key figures: ``[(label, value text, note text), ...]``.

    Tiles wrap to the page width (on screen and in print) and never break across pages.
    """
    tiles = "".join(
        f'<div class="wb-sum-tile"><div class="l">{html.escape(str(label))}</div>'
        f'<div class="v">{html.escape(str(value))}</div>'
        f'<div class="n">{html.escape(str(note))}</div></div>'
        for label, value, note in items)
    return f'{_TILES_STYLE}<div class="wb-sum-tiles">{tiles}</div>'


_TITLE_STYLE = """<style>
.wb-title{margin:0 0 18px 0;padding:0 0 10px 0;border-bottom:2px solid #1f2328;color:#1f2328;
  font-family:var(--jp-content-font-family,system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif);
  break-inside:avoid;page-break-inside:avoid}
.wb-title .wb-company{font-size:0.95em;color:#57606a;text-transform:none}
.wb-title h1{font-size:1.6em;margin:2px 0 8px 0;padding:0;color:#1f2328}
.wb-title dl{display:flex;flex-wrap:wrap;gap:4px 24px;margin:0;font-size:0.9em}
.wb-title dl div{display:flex;gap:6px}
.wb-title dt{color:#57606a;font-weight:normal;margin:0}
.wb-title dd{margin:0;color:#1f2328}
.wb-title code{font-size:0.95em}
</style>"""


def title_block(company: str, title: str, period_label: str, as_of: str, prepared_at: str,
                ledger_hash: str) -> str:
    """HTML of the block that opens every report: company, report title, period, as-of
    date, preparation time and the ledger's content hash (first 16 hex characters shown,
    the full hash in the ``title`` attribute)."""
    e = html.escape
    digest = str(ledger_hash)
    facts = [("Period", e(str(period_label))), ("As of", e(str(as_of))),
             ("Prepared", e(str(prepared_at))),
             ("Ledger", f'<code title="{e(digest)}">{e(digest[:16])}</code>')]
    dl = "".join(f"<div><dt>{k}</dt><dd>{v}</dd></div>" for k, v in facts)
    return (f'{_TITLE_STYLE}<header class="wb-title">'
            f'<div class="wb-company">{e(str(company))}</div>'
            f'<h1 class="wb-report-title">{e(str(title))}</h1><dl>{dl}</dl></header>')
