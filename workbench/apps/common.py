"""What every Voila app shares: messages, the signed-in user, local times, money columns and
the sortable, searchable table.

- :func:`box` is a message in plain words (Voila hides tracebacks, so the app says what failed).
- :func:`signed_in` is who uses the page and with what authority, from the sign-in
  (``workbench serve``) and the roles file, never from the page. In a preheated kernel it
  waits for the page request, so an app loads the ledger first and asks for the user after.
- :func:`local_time` shows a recorded UTC time in the server's time zone, in words.
- :func:`data_table` is an ``itables`` DataTable widget (sorting, search and paging in the
  browser; DataTables is bundled, nothing is fetched from a CDN; the selected rows come back
  to Python as ``selected_rows``). Amount columns are formatted text in their currency's
  decimals (``1,234.500``) with the currency in its own column, so DataTables sorts them as
  numbers.
"""

from __future__ import annotations

import datetime as dt
import html
import os
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import ipywidgets as widgets
import pandas as pd

from ..money import format_amount

__all__ = ["box", "kv_table", "SignedIn", "signed_in", "local_time", "local_zone",
           "money_text", "data_table", "set_table"]

_COLORS = {"info": "#0b5394", "ok": "#1e7b34", "error": "#a40000", "warn": "#8a5a00"}


def box(text: str, kind: str = "info") -> str:
    """A message for the page (``kind``: info, ok, warn, error), HTML-escaped; the CSS class
    ``wb-<kind>`` lets tests find it."""
    return (f'<div class="wb-msg wb-{kind}" role="{"alert" if kind == "error" else "status"}" '
            f'style="border-left:4px solid {_COLORS[kind]};padding:6px 10px;margin:6px 0;'
            f'background:#f6f8fa">{html.escape(text)}</div>')


def kv_table(rows, css_class: str) -> str:
    """A two-column table of (label, value) pairs, escaped."""
    body = "".join(f"<tr><th style='text-align:left;padding-right:12px'>{html.escape(str(k))}</th>"
                   f"<td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f"<table class='{css_class}'>{body}</table>"


@dataclass(frozen=True)
class SignedIn:
    """The page's user: ``user`` is None when the page was not opened through ``workbench serve``
    (the app is then read only). ``widget`` says who is acting, with the CSS class
    ``wb-signed-in``."""

    user: str | None
    role: str | None
    authority: str | None
    widget: widgets.HTML

    @property
    def may_record(self) -> bool:
        return self.user is not None


def signed_in(acting: str = "Acting") -> SignedIn:
    """Who uses the page (see :func:`workbench.serve.current_user`).

    Call it after the slow start-up work: in a preheated kernel it blocks until somebody opens
    the page and then reads the user Voila hands over.
    """
    from ..serve import NoSignedInUser, current_user

    try:
        user, role, authority = current_user()
        # the page is /voila/render/<app>: the landing page and sign-out are two levels up
        text = (f"{html.escape(acting)} as <strong>{html.escape(user)}</strong> (role "
                f"{html.escape(role)}, approval authority {html.escape(authority)}) · "
                f"<a href='../../'>All apps</a> · <a href='../../logout'>Sign out</a>")
    except NoSignedInUser:
        user = role = authority = None
        text = ("Read only: no signed-in user. Open this page through "
                "<code>workbench serve</code> to record anything.")
    w = widgets.HTML(f"<p>{text}</p>")
    w.add_class("wb-signed-in")
    return SignedIn(user, role, authority, w)


def local_zone() -> dt.tzinfo:
    """The time zone times are shown in: ``WORKBENCH_TIMEZONE`` (an IANA name such as
    ``Europe/Berlin``), else the server's local zone."""
    name = os.environ.get("WORKBENCH_TIMEZONE", "").strip()
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"WORKBENCH_TIMEZONE={name!r} is not a time zone name "
                             f"(e.g. Europe/Berlin)") from None
    return dt.datetime.now().astimezone().tzinfo


def local_time(value, *, seconds: bool = False) -> str:
    """``2026-11-23T22:05:00+00:00`` -> ``23 Nov 2026, 23:05 CET`` in :func:`local_zone`.

    A time without an offset is taken as UTC (the state database records UTC). Empty -> "".
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)) or value == "":
        return ""
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    t = ts.to_pydatetime().astimezone(local_zone())
    return t.strftime(f"%-d %b %Y, %H:%M{':%S' if seconds else ''} %Z").strip()


def money_text(amount_minor, currency: str) -> str:
    """An integer amount in minor units as text in its currency's decimals, without the code
    (``1,234.500`` for KWD); blank for a missing amount. Put the currency in its own column."""
    if amount_minor is None or pd.isna(amount_minor):
        return ""
    return format_amount(int(amount_minor), currency, thousands=True)


_TABLE_DEFAULTS = dict(showIndex=False, paging=True, pageLength=10, lengthMenu=[10, 25, 50, 100],
                       autoWidth=False, classes="display compact", style="width:100%")


def data_table(df: pd.DataFrame, css_class: str, *, select: bool | str = True, **options):
    """A sortable, searchable, paged table of ``df`` (shown as it is: format it first).

    ``select=True`` lets the user pick one row (``widget.selected_rows`` holds its position in
    ``df``); ``"multi"`` picks several. ``css_class`` names the table for tests. Extra
    ``options`` go to DataTables (e.g. ``order=[[2, "desc"]]``, ``pageLength=25``).
    """
    from itables.widget import ITable

    opts = {**_TABLE_DEFAULTS, **options}
    if select is True:
        opts["select"] = {"style": "single"}
    elif select == "multi":
        opts["select"] = {"style": "os"}
    elif select:
        opts["select"] = select
    table = ITable(df.reset_index(drop=True), **opts)
    # long text wraps (no "nowrap"), so a table fits the page; one still wider scrolls sideways
    # in its own box (DataTables' scrollX splits the header from the body and misaligns them)
    table.layout = widgets.Layout(width="100%", overflow="auto")
    table.add_class(css_class)
    table.add_class("wb-table")
    return table


def set_table(table, df: pd.DataFrame, **options) -> None:
    """Show other rows in a table made by :func:`data_table` (the selection is cleared)."""
    table.selected_rows = []
    table.update(df.reset_index(drop=True), **options)
