"""The activity log: calls, e-mails, letters, promises and disputes recorded in the state
database, and the one frame of the ledger's activities with the log's."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd

from ..ledger import Ledger, to_date
from ..money import parse_amount
from ..schema import ACTIVITY_KINDS

_LOG_COLUMNS = ["activity_id", "customer_id", "timestamp", "kind", "collector", "invoice_id",
                "note", "promise_date", "promise_amount_minor", "currency", "source",
                "recorded_by", "recorded_at"]


class ActivityLog:
    """Record and read collection activities in the state database (append-only).

    Parameters
    ----------
    db : StateDB, optional
        The state database (default: :class:`workbench.state.StateDB` at its default URL).
    ledger : Ledger, optional
        When given, customers, invoices and currencies are checked against it.
    """

    def __init__(self, db=None, ledger: Ledger | None = None):
        from ..state import StateDB

        self.db = db or StateDB()
        self.ledger = ledger

    def add(self, customer_id: str, kind: str, collector: str, *, at=None,
            invoice_id: str | None = None, note: str | None = None, promise_date=None,
            promise_amount: str | Decimal | None = None, currency: str | None = None,
            actor: str | None = None, idempotency_key: str | None = None) -> int:
        """Record one activity; returns its id. ``at`` defaults to now (UTC).

        ``idempotency_key``: a submission repeated with the same key (a double-click, a
        retried request) is recorded once and returns the first row's id.

        A ``promise_to_pay`` needs ``promise_date`` and ``promise_amount`` (decimal text
        in the account's currency, exact). Unknown customers or invoices (when a ledger
        is attached), unknown kinds and bad dates are refused with a clear message.
        """
        if kind not in ACTIVITY_KINDS:
            raise ValueError(f"kind must be one of {', '.join(ACTIVITY_KINDS)}; got {kind!r}")
        if not customer_id or not str(customer_id).strip():
            raise ValueError("customer_id is required")
        if not collector or not str(collector).strip():
            raise ValueError("collector is required (who made the contact)")
        if self.ledger is not None:
            cust = self.ledger.customers.set_index("customer_id")
            if customer_id not in cust.index:
                raise ValueError(f"unknown customer '{customer_id}'")
            currency = currency or cust.loc[customer_id, "currency"]
            if invoice_id:
                inv = self.ledger.invoices.set_index("invoice_id")
                if invoice_id not in inv.index:
                    raise ValueError(f"unknown invoice '{invoice_id}'")
                if inv.loc[invoice_id, "customer_id"] != customer_id:
                    raise ValueError(f"invoice '{invoice_id}' belongs to customer "
                                     f"'{inv.loc[invoice_id, 'customer_id']}', not '{customer_id}'")
                currency = inv.loc[invoice_id, "currency"]
        if kind != "promise_to_pay" and (promise_date is not None or promise_amount is not None):
            raise ValueError("promise_date and promise_amount go with kind promise_to_pay only")
        when = _timestamp(at)
        amount_minor = None
        if kind == "promise_to_pay":
            if promise_date is None or promise_amount is None:
                raise ValueError("a promise_to_pay needs promise_date and promise_amount")
            if not currency:
                raise ValueError("a promise_to_pay needs a currency (or a ledger to take it from)")
            amount_minor = parse_amount(str(promise_amount), currency)
            if amount_minor <= 0:
                raise ValueError(f"promise_amount must be positive; got {promise_amount}")
        pdate = None
        if promise_date is not None:
            pdate = str(to_date(promise_date).date())
        return self.db.append("activities", {
            "customer_id": customer_id, "kind": kind, "at": when, "collector": collector,
            "invoice_id": invoice_id, "note": note, "promise_date": pdate,
            "promise_amount_minor": amount_minor, "currency": currency,
            "idempotency_key": idempotency_key}, actor=actor)

    def correct(self, row_id: int, changes: dict, reason: str, actor: str | None = None) -> int:
        """Correct an entry: a new row pointing at the old one (the old one is kept)."""
        return self.db.correct("activities", row_id, changes, reason, actor=actor)

    def frame(self, known_by=None) -> pd.DataFrame:
        """The log's entries in the ledger's activities shape: the current ones (none
        superseded), or with ``known_by`` (a date) the log as it stood at the end of that day
        (UTC): the entries recorded by then, each replaced by a correction also recorded by
        then (a correction made later does not hide what was known)."""
        if known_by is None:
            rows = self.db.current("activities")
        else:
            end = (to_date(known_by) + pd.Timedelta(days=1)).tz_localize("UTC")
            rows = [r for r in self.db.rows("activities", include_superseded=True)
                    if pd.Timestamp(r["recorded_at"]) < end]
            replaced = {r["supersedes"] for r in rows if r.get("supersedes") is not None}
            rows = [r for r in rows if r["id"] not in replaced]
        if not rows:
            return pd.DataFrame(columns=_LOG_COLUMNS)
        df = pd.DataFrame(rows)
        out = pd.DataFrame({
            "activity_id": "S-" + df["id"].astype(str),
            "customer_id": df["customer_id"].astype("str"),
            "timestamp": pd.to_datetime(df["at"], utc=True, format="ISO8601").dt.as_unit("ns"),
            "kind": df["kind"].astype("str"),
            "collector": df["collector"].astype("str"),
            "invoice_id": df["invoice_id"].astype("str"),
            "note": df["note"].astype("str"),
            "promise_date": pd.to_datetime(df["promise_date"]).astype("datetime64[ns]"),
            "promise_amount_minor": df["promise_amount_minor"].astype("Int64"),
            "currency": df["currency"].astype("str"),
            "source": "state",
            "recorded_by": df["recorded_by"].astype("str"),
            "recorded_at": df["recorded_at"].astype("str"),
        })
        return out


def _timestamp(at) -> str:
    if at is None:
        return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    ts = pd.Timestamp(at)
    if ts.tzinfo is None:
        raise ValueError(f"timestamp {at!r} needs an offset (e.g. 2026-09-30T10:00:00+00:00)")
    return ts.isoformat()


def activities_known_by(frame: pd.DataFrame | None, D) -> pd.DataFrame | None:
    """The activities the workbench knew of by the end of day ``D`` (UTC): rows of the
    state database (``source`` "state") recorded (``recorded_at``, when the workbench
    learned of them) by then; ledger rows have no ``recorded_at`` and are kept (callers
    filter every row by its own timestamp as well). ``D`` None or no ``recorded_at``
    column: the frame unchanged."""
    if frame is None or D is None or not len(frame) or "recorded_at" not in frame:
        return frame
    at = pd.to_datetime(frame["recorded_at"].where(frame["recorded_at"].notna(), None),
                        utc=True, errors="coerce", format="ISO8601")
    day = at.dt.tz_convert(None).dt.normalize()
    state = frame["source"].eq("state") if "source" in frame else at.notna()
    late = state & at.notna() & (day > to_date(D))
    return frame[~late.to_numpy()]


def default_state(ledger: Ledger):
    """The state rows a report reads: those frozen in the pack snapshot the ledger came
    from, else the default state database when it exists, else None (a report never
    creates one: it must not write state as a side effect)."""
    from ..config import db_url
    from ..state import StateDB

    frozen = state_rows_of(ledger)
    if frozen is not None:
        return frozen
    url = db_url()
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        return None
    return StateDB(url)


def default_activity_frame(ledger: Ledger) -> pd.DataFrame:
    """The ledger's activities plus the activity log of :func:`default_state`."""
    state = default_state(ledger)
    return activity_frame(ledger, None if state is None else ActivityLog(state, ledger))


def open_disputes(ledger: Ledger, as_of, activities: pd.DataFrame | None = None,
                  events=None) -> pd.DataFrame:
    """The disputes open on ``as_of`` as :func:`workbench.disputes.dispute_states` knows
    them (the ledger's, those opened in the workbench, those logged as activities), from
    ``events`` (a state database; default :func:`default_state`): what the worklist ranks
    on (``worklist(..., disputes=...)``)."""
    from ..disputes import dispute_states

    st = dispute_states(ledger, as_of, default_state(ledger) if events is None else events,
                        activities)
    return st[st["is_open"]]


def state_rows_of(ledger: Ledger):
    """The state rows frozen in the pack snapshot a ledger was read from, else None."""
    from ..state import StateRows

    snap = ledger.snapshot
    if snap and "state_rows.json" in snap.get("files", {}):
        return StateRows.read(Path(snap["path"]) / "files" / "state_rows.json")
    return None


def activity_frame(ledger: Ledger, log: ActivityLog | None = None, known_by=None) -> pd.DataFrame:
    """The ledger's activities (from the ERP) and the activity log's, in one frame
    (:func:`merge_activities`). ``known_by``: the log as it stood at the end of that day
    (:meth:`ActivityLog.frame`)."""
    return merge_activities(ledger, None if log is None else log.frame(known_by))


def merge_activities(ledger: Ledger, logged: pd.DataFrame | None) -> pd.DataFrame:
    """The ledger's activities and logged ones (:meth:`ActivityLog.frame`), every column of
    both kept, ``source`` ledger or state, in time order. Logged rows carry ``recorded_at``
    and ``recorded_by`` (when the workbench learned of the activity, and who recorded it), so
    an as-of view can leave out what was recorded later; the ledger's rows have them empty,
    and a column the ledger lacks (say ``invoice_id``) is empty on its rows only."""
    base = ledger.activities.assign(source="ledger")
    if logged is None or not len(logged):
        return base
    merged = pd.concat([base, logged], ignore_index=True)
    return merged.sort_values(["timestamp", "activity_id"], kind="stable").reset_index(drop=True)


