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
import math
import re
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime

import jinja2
import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from ..money import format_amount, is_currency

__all__ = ["LABELS", "Table", "display_frame", "label_for", "people_table", "print_width",
           "show", "show_figure", "summary_tiles", "title_block"]

#: Business names of the column names used across the workbench (aging, KPIs, collections,
#: ledger tables). A name ending in ``_minor`` takes its stem's label (see :func:`label_for`).
LABELS: dict[str, str] = {
    # keys and groupings
    "currency": "Currency",
    "customer_id": "Customer",
    "customer_name": "Customer name",
    "name": "Name",
    "invoice_id": "Invoice",
    "receipt_id": "Receipt",
    "credit_memo_id": "Credit memo",
    "dispute_id": "Dispute",
    "activity_id": "Activity",
    "parent_id": "Parent customer",
    "segment": "Segment",
    "collector": "Collector",
    "sales_rep": "Sales rep",
    "country": "Country",
    "language": "Language",
    "rank": "Rank",
    "period": "Period",
    "start": "Start",
    "end": "End",
    "days": "Days",
    "date": "Date",
    "as_of": "As of",
    # aging (bucket labels of the default policy; other "a-b" / "over_n" labels are derived)
    "current": "Current",
    "1-30": "1–30 days",
    "31-60": "31–60 days",
    "61-90": "61–90 days",
    "91-120": "91–120 days",
    "over_120": "Over 120 days",
    "total": "Total",
    "aging_over_60_pct": "Aging over 60 (% of AR)",
    "invoices": "Open invoices",
    # KPIs (workbench.kpis)
    "credit_sales": "Credit sales",
    "beginning_ar": "Beginning AR",
    "ending_ar": "Ending AR",
    "ending_current_ar": "Ending current AR",
    "ending_past_due_ar": "Ending past due AR",
    "ending_over_60_ar": "Ending AR over 60 days",
    "dso": "DSO (days)",
    "countback_dso": "Countback DSO (days)",
    "countback_complete": "Countback complete",
    "best_possible_dso": "Best possible DSO (days)",
    "add": "Average days delinquent",
    "cei": "CEI (%)",
    "cei_credit_sales": "CEI credit sales",
    "unapplied_cash": "Unapplied cash",
    "unapplied_cash_avg_age_days": "Unapplied cash, average age (days)",
    "cash_collected": "Cash collected",
    "open_disputes": "Open disputes",
    "open_dispute_amount": "Open dispute amount",
    "open_dispute_avg_age_days": "Open disputes, average age (days)",
    "promises_kept": "Promises kept",
    "promises_broken": "Promises broken",
    "promise_kept_rate": "Promises kept (%)",
    # collections (worklist, suspension and write-off proposals)
    "open_ar": "Open AR",
    "past_due_ar": "Past due AR",
    "oldest_days_past_due": "Oldest days past due",
    "open_invoices": "Open invoices",
    "past_due_invoices": "Past due invoices",
    "due_soon": "Due soon",
    "stage": "Dunning stage",
    "next_action": "Next action",
    "tier": "Tier",
    "risk": "Payment risk",
    "risk_source": "Risk source",
    "broken_promises": "Broken promises",
    "promise_due_today": "Promise due today",
    "disputes_awaiting": "Disputes awaiting action",
    "days_since_contact": "Days since last contact",
    "pending_promise": "Pending promise date",
    "status": "Status",
    "priority": "Priority",
    "reasons": "Reasons",
    "rules": "Rules met",
    "evidence": "Evidence",
    "approval": "Approval by",
    "policy": "Policy",
    "open_balance": "Open balance",
    "last_payment": "Last payment",
    "history_invoices": "Invoices in history",
    "history_late_share": "Paid late (share of invoices)",
    # open items and unapplied cash (workbench.ledger)
    "invoice_date": "Invoice date",
    "due_date": "Due date",
    "days_past_due": "Days past due",
    "in_dispute": "In dispute",
    "receipt_date": "Receipt date",
    "value_date": "Value date",
    "payer_name": "Payer",
    "reference": "Reference",
    "days_unapplied": "Days unapplied",
    "bank_account": "Bank account",
    # ledger tables (DATA_MODEL.md)
    "payment_terms_days": "Payment terms (days)",
    "credit_limit": "Credit limit",
    "po_number": "PO number",
    "description": "Description",
    "reason": "Reason",
    "reason_code": "Reason code",
    "opened_date": "Opened",
    "closed_date": "Closed",
    "resolution": "Resolution",
    "applied_date": "Applied on",
    "approved_by": "Approved by",
    "timestamp": "Time",
    "kind": "Activity",
    "note": "Note",
    "promise_date": "Promised for",
    "rate_to_report": "Rate to report currency",
}

# stems of the ``*_minor`` money columns (open_minor -> "Open balance")
_MINOR_STEMS = {"amount": "Amount", "open": "Open balance", "applied": "Applied",
                "credited": "Credited", "written_off": "Written off", "unapplied": "Unapplied cash",
                "promise_amount": "Promised amount"}
for _stem, _label in _MINOR_STEMS.items():
    LABELS.setdefault(_stem, _label)
    LABELS[f"{_stem}_minor"] = _label

_BUCKET_RE = re.compile(r"^(\d+)-(\d+)$")
_OVER_RE = re.compile(r"^over_(\d+)$")


def label_for(name: str) -> str:
    """The business label of a column name: :data:`LABELS`, then the ``_minor`` stem, then
    aging buckets (``"1-15"`` -> ``"1–15 days"``, ``"over_90"`` -> ``"Over 90 days"``), then
    the name with ``_`` as spaces and a capital first letter."""
    name = str(name)
    if name in LABELS:
        return LABELS[name]
    if name.endswith("_minor") and len(name) > len("_minor"):
        return label_for(name[: -len("_minor")])
    if m := _BUCKET_RE.match(name):
        return f"{m.group(1)}–{m.group(2)} days"
    if m := _OVER_RE.match(name):
        return f"Over {m.group(1)} days"
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


@dataclass
class Table:
    """One table of a report, described once for HTML and Excel.

    Parameters
    ----------
    name : str
        Slug: the Excel sheet name (first 31 characters) and file stem.
    title : str
        Human title (``"Aging by currency as of 30 Sep 2026"``).
    frame : DataFrame
        The data: money columns as integer minor units, with a per-row ``currency`` column
        or a fixed ``currency``.
    columns : dict, optional
        Code name -> business label, in display order; ``None``: every column of the frame
        with labels from :func:`label_for`.
    money : list of str
        Columns of integer minor units.
    currency : str, optional
        The currency of every money column when the frame has no ``currency`` column.
    pct : list of str
        Columns in percent units (``12.3456`` -> ``"12.3 %"``).
    ratio_pct : list of str
        Columns as fractions (``0.123`` -> ``"12.3 %"``).
    integers : list of str
        Counts, with thousands separators; summed in the totals.
    decimals : dict
        Other numbers and their decimals (``{"days_unapplied": 1}``).
    dates : list of str
        Dates and timestamps, shown ``2026-09-30``.
    totals : bool
        Add a total row (one per currency when there are several): money and ``integers``
        summed exactly.
    note : str
        Footnote under the table (source, formula).
    max_rows : int, optional
        HTML shows only the first ``max_rows`` rows (and the totals); the workbook has all.
    """

    name: str
    title: str
    frame: pd.DataFrame
    columns: dict[str, str] | None = None
    money: list[str] = ()
    currency: str | None = None
    pct: list[str] = ()
    ratio_pct: list[str] = ()
    integers: list[str] = ()
    decimals: dict[str, int] = field(default_factory=dict)
    dates: list[str] = ()
    totals: bool = False
    note: str = ""
    max_rows: int | None = None


# ---------------------------------------------------------------------------------------
# one preparation for every rendering

NUMERIC_KINDS = frozenset({"money", "pct", "ratio", "int", "dec", "number"})
_BLANK = object()       # a cell of a total row that is not summed


@dataclass(frozen=True)
class Column:
    """A displayed column: code name, business label, kind and decimals (``dec``)."""

    code: str
    label: str
    kind: str           # money pct ratio int dec date currency bool number text
    digits: int = 0

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS


@dataclass
class Prepared:
    """A table checked and reduced to Python values: ``rows`` and ``totals`` hold one raw
    value per column (int minor units for money, ``None`` for missing) and the row's
    currency."""

    columns: list[Column]
    rows: list[list]
    currencies: list[str | None]
    totals: list[tuple[list, str | None]]
    label_at: int | None      # column index of the "Total" label


def _missing(v) -> bool:
    if v is None or v is pd.NaT or v is pd.NA:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _kinds(table: Table) -> dict[str, tuple[str, int]]:
    kinds: dict[str, tuple[str, int]] = {}
    declared = [(table.money, "money"), (table.pct, "pct"), (table.ratio_pct, "ratio"),
                (table.integers, "int"), (table.dates, "date")]
    pairs = [(c, k, 0) for cols, k in declared for c in cols]
    pairs += [(c, "dec", int(n)) for c, n in dict(table.decimals).items()]
    for code, kind, digits in pairs:
        if code not in table.frame.columns:
            raise ValueError(f"table {table.name!r}: column {code!r} ({kind}) is not in the "
                             f"frame; its columns are {list(map(str, table.frame.columns))}")
        if code in kinds and kinds[code][0] != kind:
            raise ValueError(f"table {table.name!r}: column {code!r} is declared both "
                             f"{kinds[code][0]} and {kind}")
        kinds[code] = (kind, digits)
    return kinds


def _currencies(table: Table, n: int) -> list[str | None]:
    frame = table.frame
    if "currency" in frame.columns:
        curs = [None if _missing(c) else str(c) for c in frame["currency"]]
        if table.currency is not None:
            other = sorted({c for c in curs if c is not None and c != table.currency})
            if other:
                raise ValueError(f"table {table.name!r}: currency={table.currency!r} but the "
                                 f"currency column also holds {other}")
    else:
        curs = [table.currency] * n
    for i, cur in enumerate(curs):
        if cur is not None and not is_currency(cur):
            raise ValueError(f"table {table.name!r}: row {i} has currency {cur!r}, not an "
                             f"ISO 4217 code")
    return curs


def _minor(table: Table, code: str, v) -> int | None:
    if _missing(v):
        return None
    try:
        minor = int(v)
        exact = isinstance(v, (int, np.integer)) or minor == v
    except (TypeError, ValueError, OverflowError):
        exact = False
    if not exact or isinstance(v, (str, bool, np.bool_)):
        raise ValueError(f"table {table.name!r}: money column {code!r} must hold integer "
                         f"minor units; got {v!r}")
    return minor


def _raw(table: Table, col: Column, v):
    """A frame value as the plain Python value the renderers take."""
    if col.kind == "money":
        return _minor(table, col.code, v)
    if _missing(v):
        return None
    if col.kind in ("pct", "ratio", "dec"):
        return float(v)
    if col.kind == "int":
        return int(v)
    if col.kind == "date":
        return pd.Timestamp(v)
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (np.integer, np.floating)):
        return v.item()
    return v


def prepare(table: Table) -> Prepared:
    """Check a :class:`Table` and reduce it to columns, raw rows and total rows.

    Raises
    ------
    ValueError
        A listed column is not in the frame; a money column has no currency (no
        ``currency`` column, no ``currency=``); a currency is not ISO 4217; a money value
        is not an integer; two columns have the same label.
    """
    frame = table.frame
    kinds = _kinds(table)
    if table.columns is not None:
        for code in table.columns:
            if code not in frame.columns and not (code == "currency" and table.currency):
                raise ValueError(f"table {table.name!r}: column {code!r} is not in the frame; "
                                 f"its columns are {list(map(str, frame.columns))}")
        order = {str(k): str(v) for k, v in table.columns.items()}
    else:
        order = {str(c): label_for(c) for c in frame.columns}
    money = [c for c in order if kinds.get(c, ("",))[0] == "money"]
    if table.money and "currency" not in frame.columns and table.currency is None:
        raise ValueError(f"table {table.name!r}: money column {table.money[0]!r} has no "
                         f"currency: the frame has no 'currency' column and no currency= "
                         f"was given")
    if table.currency is not None and not is_currency(table.currency):
        raise ValueError(f"table {table.name!r}: currency={table.currency!r} is not an "
                         f"ISO 4217 code")
    if money and "currency" not in order:
        # amounts are never shown without their currency
        items = list(order.items())
        at = list(order).index(money[0])
        items.insert(at, ("currency", label_for("currency")))
        order = dict(items)
    labels: dict[str, str] = {}
    for code, label in order.items():
        if label in labels:
            raise ValueError(f"table {table.name!r}: columns {labels[label]!r} and {code!r} "
                             f"have the same label {label!r}; give columns= labels")
        labels[label] = code

    columns = []
    for code, label in order.items():
        if code in kinds:
            kind, digits = kinds[code]
        elif code == "currency":
            kind, digits = "currency", 0
        else:
            dtype = frame[code].dtype
            if pd.api.types.is_bool_dtype(dtype):
                kind = "bool"
            elif pd.api.types.is_numeric_dtype(dtype):
                kind = "number"
            elif pd.api.types.is_datetime64_any_dtype(dtype):
                kind = "date"
            else:
                kind = "text"
            digits = 0
        columns.append(Column(code, label, kind, digits))

    n = len(frame)
    curs = (_currencies(table, n) if (money or "currency" in frame.columns or table.currency)
            else [None] * n)
    data = []
    for col in columns:
        if col.code == "currency":
            data.append(curs)
        else:
            data.append([_raw(table, col, v) for v in frame[col.code].tolist()])
    for col, values in zip(columns, data):
        if col.kind == "money":
            for i, (v, cur) in enumerate(zip(values, curs)):
                if v is not None and cur is None:
                    raise ValueError(f"table {table.name!r}: money column {col.code!r} has an "
                                     f"amount in row {i} without a currency")
    rows = [list(r) for r in zip(*data)] if columns else [[] for _ in range(n)]

    label_at = next((i for i, c in enumerate(columns) if c.kind == "text"), None)
    if label_at is None:
        label_at = next((i for i, c in enumerate(columns) if c.kind == "currency"),
                        0 if columns else None)
    totals = _totals(table, columns, rows, curs, label_at) if table.totals else []
    return Prepared(columns, rows, curs, totals, label_at)


def _totals(table, columns, rows, curs, label_at) -> list[tuple[list, str | None]]:
    summed = [i for i, c in enumerate(columns) if c.kind in ("money", "int")]
    if not summed or label_at is None:
        return []
    has_money = any(c.kind == "money" for c in columns)
    groups = sorted({c for c in curs if c is not None}) if has_money else [None]
    if has_money and not groups:
        groups = [table.currency] if table.currency else []
    if not groups:
        return []
    out = []
    for cur in groups:
        sel = [r for r, c in zip(rows, curs) if cur is None or c == cur]
        row: list = [_BLANK] * len(columns)
        for i in summed:
            # Python ints: exact to the minor unit whatever the number of rows
            row[i] = sum(r[i] for r in sel if r[i] is not None)
        for i, c in enumerate(columns):
            if c.kind == "currency":
                row[i] = cur
        label = "Total"
        if columns[label_at].kind == "currency" and cur is not None:
            label = f"Total {cur}"
        row[label_at] = label
        out.append((row, cur))
    return out


def format_cell(col: Column, value, currency: str | None) -> str:
    """The display text of one raw value (see :func:`prepare`)."""
    if value is _BLANK:
        return ""
    if value is None:
        if col.kind in ("pct", "ratio", "dec"):
            return "n/a"
        return "–" if col.kind in ("money", "int", "number") else ""
    kind = col.kind
    if kind == "money":
        return format_amount(value, currency, thousands=True)
    if kind == "pct":
        return f"{value:,.1f} %"
    if kind == "ratio":
        return f"{value * 100:,.1f} %"
    if kind == "int":
        return f"{value:,}"
    if kind == "dec":
        return f"{value:,.{col.digits}f}"
    if kind == "date":
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if kind == "number":
        if isinstance(value, int):
            return f"{value:,}"
        if isinstance(value, float) and math.isfinite(value):
            return f"{value:,.2f}"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def display_frame(table: Table) -> pd.DataFrame:
    """The table as text for people: business labels, amounts with thousands separators
    in each row's currency decimals, percentages with one decimal, total rows last.

    Returns
    -------
    DataFrame
        Strings only; ``attrs["total_rows"]`` is the number of total rows at the end and
        ``attrs["numeric"]`` the labels of the right-aligned columns.
    """
    p = prepare(table)
    texts = {c.label: [format_cell(c, r[i], cur) for r, cur in zip(p.rows, p.currencies)]
             + [format_cell(c, r[i], cur) for r, cur in p.totals]
             for i, c in enumerate(p.columns)}
    out = pd.DataFrame(texts, index=range(len(p.rows) + len(p.totals)), dtype=object)
    out.attrs["total_rows"] = len(p.totals)
    out.attrs["numeric"] = [c.label for c in p.columns if c.numeric]
    out.attrs["kinds"] = {c.label: c.kind for c in p.columns}
    return out


# ---------------------------------------------------------------------------------------
# HTML

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
