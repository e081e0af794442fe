"""What the briefs and the summary share: names for people, dates and amounts, the
templates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..ledger import Ledger

PROMISES_SHOWN = 10     # promises on the page (the workbook lists every one)

_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_env = Environment(loader=FileSystemLoader(str(_TEMPLATES)), undefined=StrictUndefined,
                   autoescape=select_autoescape(["html", "j2"]))

KIND_TEXT = {"call": "Call", "email": "E-mail", "letter": "Letter",
             "promise_to_pay": "Promise to pay", "dispute": "Dispute raised",
             "escalation": "Escalation", "note": "Note", "suspension": "Suspension"}
OUTCOME_TEXT = {"kept": "Kept", "broken": "Broken", "pending": "Pending"}
#: dunning stages from which an account is escalated to its sales representative
ESCALATED = ("escalate_to_sales", "suspension")
CONTACTS_SHOWN = 5
_NO_OPEN_ITEMS = "No open items: nothing to chase."
NOTE_EXCERPT = 80       # characters of a contact's note on the page (the workbook has all)
WEEK = pd.Timedelta(days=7)


def bucket_title(label: str) -> str:
    """An aging bucket for people: ``current`` -> ``Current``, ``1-30`` -> ``1-30 days``,
    ``over_120`` -> ``Over 120 days``."""
    if label == "current":
        return "Current"
    if label.startswith("over_"):
        return f"Over {label[5:]} days"
    return f"{label} days" if label[:1].isdigit() else label.replace("_", " ").capitalize()


def _plain(text: str) -> str:
    """A worklist text without codes (``stage escalate_to_sales`` -> ``stage escalate to
    sales``), first letter capitalised."""
    text = str(text).replace("_", " ")
    return text[:1].upper() + text[1:]


def _day(ts) -> str:
    return "" if ts is None or pd.isna(ts) else str(pd.Timestamp(ts).date())


def _text(v) -> str:
    return "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)


def _date(ts) -> dt.date | None:
    """A day as a ``datetime.date`` (an Excel date in a workbook), None when missing."""
    if ts is None or pd.isna(ts):
        return None
    ts = pd.Timestamp(ts)
    return (ts.tz_convert(None) if ts.tzinfo is not None else ts).date()


def _excerpt(text: str, limit: int = NOTE_EXCERPT) -> str:
    """The start of a note, on one line, cut at a word with "…" when longer than ``limit``."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut[limit // 2:] else cut).rstrip(" ,;:.") + "…"


def _overdue(days: int) -> tuple[int | None, str]:
    """A dispute's days past its due date: (the number, or None while not overdue; the text
    for people). Zero or less is not overdue: "due today" or "not due", never "0"."""
    days = int(days)
    if days > 0:
        return days, f"{days} days overdue" if days != 1 else "1 day overdue"
    return None, "due today" if days == 0 else "not due"


def ledger_end_note(ledger: Ledger, D: pd.Timestamp) -> str:
    """What a page says when its date is after the ledger's last date ("" otherwise)."""
    last = ledger.last_date
    if last is None or D <= last:
        return ""
    return (f"The ledger ends on {last.date()}; anything since is not in it (the figures are "
            f"the ledger's as it stands, not the position on {D.date()}).")


