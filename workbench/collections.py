"""Collections: the policy, the activity log, the prioritized worklist, and the
suspension and small-balance write-off proposals.

Everything is a function of (ledger, as_of, policy, activities) and uses only what was
known on ``as_of``: open items and payments dated by then, promises judged on cash
applied by then, activities logged by then.

>>> from workbench import Ledger
>>> from workbench.collections import load_collections_policy, worklist
>>> wl = worklist(Ledger.load("data/demo"), "2026-09-30")      # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from .kpis import KPIOptions, promise_outcomes
from .ledger import Ledger, to_date
from .master import customers_as_of
from .money import format_amount, parse_amount
from .policy import (Amounts, Flag, Items, Money, Number, PolicyError, PolicySpec, Section, Text,
                     Whole, resolve_amounts)
from .schema import ACTIVITY_KINDS

__all__ = ["CollectionsPolicy", "DunningStage", "load_collections_policy", "ActivityLog",
           "activity_frame", "default_activity_frame", "dunning_stage", "worklist", "suspension_proposals",
           "write_off_proposals", "STAGES", "COLLECTIONS_SPEC", "CurrencyAmounts", "PolicyError"]

#: The dunning stages a policy must define, in order.
STAGES = ("pre_due_reminder", "friendly", "firm", "final", "escalate_to_sales", "suspension")
_ACTIONS = ("email", "call", "letter", "escalation", "suspension")
CONTACT_KINDS = ("call", "email", "letter", "promise_to_pay", "escalation", "note", "dispute")


# =========================================================================== policy

@dataclass(frozen=True)
class DunningStage:
    stage: str
    from_days: int
    action: str
    template: str | None = None


#: A threshold per currency (:class:`workbench.policy.Amounts`; the old name).
CurrencyAmounts = Amounts


@dataclass(frozen=True)
class CollectionsPolicy:
    name: str
    version: str
    stages: tuple[DunningStage, ...]
    suspension_min_days: int
    suspension_min_amount: CurrencyAmounts
    suspension_broken_promises: int
    suspension_lookback_days: int
    write_off_max_balance: CurrencyAmounts
    write_off_min_days: int
    write_off_no_open_dispute: bool
    write_off_approval: str
    escalation_tiers: tuple[tuple[str, CurrencyAmounts | None], ...]
    promise_grace_days: int
    promise_tolerance_pct: float
    contact_gap_days: int
    dispute_action_days: int
    history_months: int
    late_days: int
    source: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    def kpi_options(self) -> KPIOptions:
        return KPIOptions(promise_grace_days=self.promise_grace_days,
                          promise_tolerance_pct=self.promise_tolerance_pct)

    def stage_for(self, days_past_due: int) -> DunningStage | None:
        current = None
        for s in self.stages:
            if days_past_due >= s.from_days:
                current = s
        return current

    def tier_for(self, past_due_minor: int, currency: str) -> str:
        for tier, limit in self.escalation_tiers:
            if limit is None or past_due_minor <= limit.minor(currency):
                return tier
        return self.escalation_tiers[-1][0]

    def for_ledger(self, ledger: Ledger, as_of) -> "CollectionsPolicy":
        """This policy with every amount given in each of the ledger's currencies
        (converted at ``as_of`` where the policy says ``currency_conversion: fx_rates``);
        :class:`PolicyError` listing every amount a ledger currency lacks."""
        return resolve_amounts(self, ledger, as_of)


def _stage_spec():
    return Section(fields={"stage": Text(), "from_days": Whole(),
                           "action": Text(choices=_ACTIONS),
                           "template": Text(required=False)})


#: The collections policy's keys (beside name, version, description, currency_conversion).
COLLECTIONS_SPEC = PolicySpec("collections", {
    "dunning_stages": Items(item=_stage_spec(), min_items=1, name_keys=("stage",),
                            doc="every stage of STAGES, in order, from_days increasing"),
    "suspension": Section(fields={
        "min_days_past_due": Whole(minimum=0),
        "min_amount_past_due": Money(bare="default", minimum=0),
        "broken_promises": Whole(minimum=1),
        "broken_promise_lookback_days": Whole(minimum=1)}),
    "small_balance_write_off": Section(fields={
        "max_balance": Money(bare="default", minimum=0),
        "min_days_past_due": Whole(minimum=0),
        "require_no_open_dispute": Flag(required=False, default=True),
        "approval": Text(doc="who approves a write-off")}),
    "escalation_tiers": Items(item=Section(fields={
        "tier": Text(), "up_to": Money(bare="default", minimum=0, required=False)}),
        min_items=1, name_keys=("tier",)),
    "promises": Section(required=False, fields={
        "grace_days": Whole(minimum=0, required=False, default=0),
        "tolerance_pct": Number(minimum=0, maximum=100, high_open=True, required=False,
                                default=0)}),
    "worklist": Section(required=False, fields={
        "contact_gap_days": Whole(minimum=0, required=False, default=14),
        "dispute_action_days": Whole(minimum=0, required=False, default=10),
        "history_months": Whole(minimum=1, required=False, default=12),
        "late_days": Whole(minimum=0, required=False, default=30)}),
})


def load_collections_policy(path: str | Path = "collections") -> CollectionsPolicy:
    """Read and check a collections policy YAML (default: the shipped one).

    Every problem is collected and reported together, each naming its file and key
    (:mod:`workbench.policy`). Amounts are per currency; :meth:`CollectionsPolicy.for_ledger`
    checks them against a ledger's currencies.
    """
    doc = COLLECTIONS_SPEC.read(path)
    stages = [DunningStage(s["stage"], s["from_days"], s["action"], s["template"])
              for s in (doc.get("dunning_stages") or []) if s and s["stage"]]
    names = [s.stage for s in stages]
    missing = [s for s in STAGES if s not in names]
    if missing:
        doc.add("dunning_stages", f"missing stage(s) {', '.join(missing)} (required: "
                                  f"{', '.join(STAGES)})")
    unknown = [s for s in names if s not in STAGES]
    if unknown:
        doc.add("dunning_stages", f"unknown stage(s) {', '.join(unknown)}")
    if not missing and not unknown and names != list(STAGES):
        doc.add("dunning_stages", f"must be in the order {', '.join(STAGES)}")
    days = [s.from_days for s in stages]
    if all(isinstance(d, int) for d in days) and any(b <= a for a, b in zip(days, days[1:])):
        doc.add("dunning_stages", f"from_days must increase stage by stage; got {days}")
    tiers = doc.check_tiers("escalation_tiers", "tier", "tier")
    sus = doc.get("suspension") or {}
    wo = doc.get("small_balance_write_off") or {}
    prom = doc.get("promises") or {}
    wl = doc.get("worklist") or {}
    doc.check()
    return CollectionsPolicy(
        name=doc.name, version=doc.version, stages=tuple(stages),
        suspension_min_days=sus["min_days_past_due"],
        suspension_min_amount=sus["min_amount_past_due"],
        suspension_broken_promises=sus["broken_promises"],
        suspension_lookback_days=sus["broken_promise_lookback_days"],
        write_off_max_balance=wo["max_balance"],
        write_off_min_days=wo["min_days_past_due"],
        write_off_no_open_dispute=bool(wo["require_no_open_dispute"]),
        write_off_approval=str(wo["approval"]),
        escalation_tiers=tuple(tiers),
        promise_grace_days=prom["grace_days"],
        promise_tolerance_pct=float(prom["tolerance_pct"]),
        contact_gap_days=wl["contact_gap_days"],
        dispute_action_days=wl["dispute_action_days"],
        history_months=wl["history_months"],
        late_days=wl["late_days"],
        source=str(doc.source),
    )


# =========================================================================== activity log

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
        from .state import StateDB

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


def default_activity_frame(ledger: Ledger) -> pd.DataFrame:
    """The ledger's activities plus the activity log of the default state database when it
    exists (never creates one: a report must not write state as a side effect)."""
    from .config import db_url
    from .state import StateDB

    frozen = state_rows_of(ledger)
    if frozen is not None:
        return activity_frame(ledger, ActivityLog(frozen, ledger))
    url = db_url()
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        return activity_frame(ledger)
    return activity_frame(ledger, ActivityLog(StateDB(url), ledger))


def state_rows_of(ledger: Ledger):
    """The state rows frozen in the pack snapshot a ledger was read from, else None."""
    from .state import StateRows

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


# =========================================================================== worklist

def dunning_stage(policy: CollectionsPolicy, days_past_due: int) -> str | None:
    """The stage an account is in when its oldest open invoice is this many days past due."""
    s = policy.stage_for(days_past_due)
    return s.stage if s else None


def _history_risk(ledger: Ledger, D: pd.Timestamp, policy: CollectionsPolicy) -> pd.DataFrame:
    """Share of a customer's invoices, due in the last ``history_months`` before D, that
    were (or still are) paid more than ``late_days`` late, as known on D."""
    st = ledger.settlement(D)
    start = D - pd.DateOffset(months=policy.history_months)
    st = st[((st["due_date"] > start) & (st["due_date"] <= D)).to_numpy()]
    # settled: its days late (the ledger's one definition); still open: days past due on D
    late = np.where(st["settled"], st["days_late"], (D - st["due_date"]).dt.days) > policy.late_days
    frame = pd.DataFrame({"customer_id": st["customer_id"].to_numpy(), "late": late})
    g = frame.groupby("customer_id")["late"]
    return pd.DataFrame({"history_invoices": g.size(), "history_late_share": g.mean()})


def _lookup(keys: pd.Series, values: pd.Series) -> np.ndarray:
    """``keys.map(values)`` that also works when ``values`` is empty (any dtype)."""
    if values.index.has_duplicates:
        values = values[~values.index.duplicated()]
    return values.reindex(keys.to_numpy()).to_numpy()


def _master_on(ledger: Ledger, D: pd.Timestamp, fields: tuple[str, ...], without_history: str
               ) -> tuple[pd.DataFrame, list[str]]:
    """The customer master's ``fields`` in force on D, indexed by customer, with
    ``_unknown_<field>`` (True where the value on D cannot be known), and the notes."""
    from .master import master_values

    cust = ledger.customers
    master, notes = customers_as_of(ledger, D, fields, without_history)
    master = master.set_index("customer_id")
    for f in fields:
        _, known, _ = master_values(ledger, f, np.arange(len(cust)), D, without_history)
        master[f"_unknown_{f}"] = ~known & master[f].isna().to_numpy() & \
            (cust[f].notna().to_numpy() if f in cust else np.zeros(len(cust), bool))
    return master, notes


def _last_contact(acts: pd.DataFrame, D: pd.Timestamp) -> pd.Series:
    if not len(acts):
        return pd.Series(dtype="datetime64[ns]")
    day = acts["timestamp"].dt.tz_convert(None).dt.normalize()   # the day of the contact:
    sel = acts["kind"].isin(CONTACT_KINDS).to_numpy() & (day <= D).to_numpy()  # 0 days on D
    return day[sel].groupby(acts.loc[sel, "customer_id"].to_numpy()).max()


def worklist(ledger: Ledger, as_of, policy: CollectionsPolicy | None = None,
             activities: pd.DataFrame | None = None, risk_scores: pd.Series | None = None,
             collector: str | None = None, report_currency: str | None = None,
             without_history: str = "strict", disputes: pd.DataFrame | None = None
             ) -> pd.DataFrame:
    """Accounts ranked by what a collector should do first, each with why and what next.

    Parameters
    ----------
    ledger : Ledger
    as_of : str or date
    policy : CollectionsPolicy, optional
        Default: the shipped policy.
    activities : DataFrame, optional
        The activity log (default: the ledger's; see :func:`activity_frame`).
    risk_scores : Series, optional
        customer_id -> probability of paying late (a payment-risk model). Without it the
        risk is history-based: the share of the customer's invoices due in the last
        ``history_months`` paid more than ``late_days`` late.
    collector : str, optional
        Only this collector's accounts.
    report_currency : str, optional
        Currency the exposures are ranked in (default the ledger's reporting currency;
        an account without a rate is ranked on its own amount and says so).
    without_history : {"strict", "assume_unchanged"}
        The account's collector and status are those in force on ``as_of``
        (:mod:`workbench.master`); on a past date without a ``customer_changes`` table they
        are unknown (``strict``) or taken from today's master (``assume_unchanged``).
    disputes : DataFrame, optional
        The disputes open on ``as_of`` (``dispute_id, invoice_id, opened_date``): the rows
        of :func:`workbench.disputes.dispute_states` that are open, so disputes opened in
        the workbench count too; default the ledger's (:meth:`Ledger.open_disputes`).

    Returns
    -------
    DataFrame
        One row per (customer, currency) with open items, ranked: ``rank, customer_id,
        customer_name, collector, currency, open_ar, past_due_ar, oldest_days_past_due,
        stage, next_action, tier, risk, risk_source, broken_promises, promise_due_today,
        open_disputes, days_since_contact, priority, reasons``. Amounts in minor units.
        ``attrs["notes"]`` says what of the customer master could not be known on ``as_of``.

    Notes
    -----
    priority = past-due exposure (report currency) * (0.25 + 0.75 * risk)
               * 1.5 ** min(broken promises, 3) * 1.5 if a promise is due today
               * 1.25 if a dispute awaits action * 1.2 if no contact for
               ``contact_gap_days`` * 1.2 from the final stage on.
    Accounts with nothing past due are ranked after, by what falls due within 5 days
    (pre-due reminders).
    """
    policy = policy or load_collections_policy()
    D = ledger.require_data_by(as_of)
    policy = policy.for_ledger(ledger, D)
    acts = ledger.activities if activities is None else activities
    report_currency = report_currency or ledger.report_currency
    items = ledger.open_items(D, without_history=without_history)   # collector on D
    master, notes = _master_on(ledger, D, ("status", "collector"), without_history)
    if collector is not None:
        unknown = items["customer_id"].isin(master.index[master["_unknown_collector"]])
        if unknown.any():
            notes.append(f"{items.loc[unknown, 'customer_id'].nunique()} account(s) with open "
                         f"items have no known collector on {D.date()}: not in "
                         f"{collector}'s worklist")
        items = items[items["collector"] == collector] if "collector" in items else items.iloc[:0]
    if not len(items):
        out = pd.DataFrame(columns=["rank", "customer_id", "customer_name", "currency",
                                    "priority", "reasons", "next_action"])
        out.attrs["notes"] = notes
        return out
    items = items.assign(past_due=np.where(items["days_past_due"] > 0, items["open_minor"], 0),
                         due_soon=np.where((items["days_past_due"] <= 0)
                                           & (items["days_past_due"] >= -5), items["open_minor"], 0))
    g = items.groupby(["customer_id", "currency"], sort=True)
    acc = pd.DataFrame({
        "open_ar": g["open_minor"].sum(), "past_due_ar": g["past_due"].sum(),
        "due_soon": g["due_soon"].sum(), "open_invoices": g.size(),
        "oldest_days_past_due": g["days_past_due"].max(),
    }).reset_index()
    cust = ledger.customers.set_index("customer_id")
    acc["customer_name"] = acc["customer_id"].map(cust["name"])
    # collector and status as they stood on D, never today's (workbench.master)
    acc["collector"] = acc["customer_id"].map(master["collector"]) if "collector" in cust else None
    acc["status"] = acc["customer_id"].map(master["status"]) if "status" in cust else "active"
    # risk ----------------------------------------------------------------------------
    if risk_scores is not None:
        acc["risk"] = acc["customer_id"].map(risk_scores).astype(float)
        acc["risk_source"] = np.where(acc["risk"].notna(), "payment-risk model", "no score: 0.25")
        acc["history_invoices"] = np.nan
    else:
        hist = _history_risk(ledger, D, policy)
        acc["history_invoices"] = acc["customer_id"].map(hist["history_invoices"])
        acc["risk"] = acc["customer_id"].map(hist["history_late_share"]).astype(float)
        acc["risk_source"] = np.where(
            acc["risk"].notna(),
            [f"history: {r:.0%} of {int(n)} invoices > {policy.late_days} days late"
             for r, n in zip(acc["risk"].fillna(0), acc["history_invoices"].fillna(0))],
            "no history: 0.25")
    acc["risk"] = acc["risk"].fillna(0.25).clip(0, 1)
    # promises, disputes, contacts -------------------------------------------------------
    outcomes = promise_outcomes(ledger, D, acts, policy.kpi_options())
    lookback = D - pd.Timedelta(days=policy.suspension_lookback_days)
    broken = outcomes[(outcomes["status"] == "broken") & (outcomes["promise_date"] >= lookback)]
    acc["broken_promises"] = acc["customer_id"].map(broken.groupby("customer_id").size()
                                                    ).fillna(0).astype(int)
    last_broken = broken.groupby("customer_id")["promise_date"].max()
    today = outcomes[(outcomes["status"] == "pending") & (outcomes["promise_date"] == D)]
    acc["promise_due_today"] = acc["customer_id"].map(
        today.groupby("customer_id")["promise_amount_minor"].sum()).fillna(0).astype(np.int64)
    pending = outcomes[(outcomes["status"] == "pending") & (outcomes["promise_date"] > D)]
    acc["pending_promise"] = _lookup(acc["customer_id"],
                                     pending.groupby("customer_id")["promise_date"].min())
    last_contact = _last_contact(acts, D)
    acc["last_contact"] = pd.to_datetime(_lookup(acc["customer_id"], last_contact))
    acc["days_since_contact"] = (D - acc["last_contact"]).dt.days
    disputes = ledger.open_disputes(D) if disputes is None else disputes
    if len(disputes):
        d = disputes.loc[disputes["invoice_id"].notna(), ["dispute_id", "invoice_id",
                                                          "opened_date"]]
        d = d.merge(ledger.invoices[["invoice_id", "customer_id"]], on="invoice_id")
        d["age"] = (D - d["opened_date"]).dt.days
        d["contact_since"] = pd.Series(_lookup(d["customer_id"], last_contact),
                                       index=d.index) >= d["opened_date"]
        awaiting = d[(d["age"] >= policy.dispute_action_days) & ~d["contact_since"].fillna(False)]
        acc["open_disputes"] = acc["customer_id"].map(d.groupby("customer_id").size()).fillna(0).astype(int)
        acc["disputes_awaiting"] = acc["customer_id"].map(awaiting.groupby("customer_id").size()
                                                          ).fillna(0).astype(int)
        oldest = awaiting.sort_values("age").groupby("customer_id").last()
        acc["dispute_note"] = acc["customer_id"].map(
            oldest["dispute_id"] + " open " + oldest["age"].astype(str) + " days")
    else:
        acc["open_disputes"] = 0
        acc["disputes_awaiting"] = 0
        acc["dispute_note"] = None
    # stage and the action it calls for -----------------------------------------------
    stage_objs = [policy.stage_for(int(d)) for d in acc["oldest_days_past_due"]]
    acc["stage"] = [s.stage if s else None for s in stage_objs]
    done = _stage_done(acc, stage_objs, acts, D)
    acc["tier"] = [policy.tier_for(int(pd_), cur) for pd_, cur in zip(acc["past_due_ar"], acc["currency"])]
    # exposure in the report currency ---------------------------------------------------
    exposure, unconverted = [], []
    from .money import convert, minor_units
    for amount, cur in zip(acc["past_due_ar"], acc["currency"]):
        try:
            rate = ledger.fx_rate(cur, D, report_currency)
            value = convert(int(amount), cur, rate, report_currency) / 10 ** minor_units(report_currency)
            unconverted.append(False)
        except ValueError:
            value = int(amount) / 10 ** minor_units(cur)
            unconverted.append(True)
        exposure.append(value)
    acc["exposure"] = exposure
    # priority and reasons --------------------------------------------------------------
    priorities, reasons, actions = [], [], []
    suspended = set(suspension_proposals(ledger, D, policy, acts, without_history,
                                         outcomes=outcomes)["customer_id"])
    small = write_off_proposals(ledger, D, policy)
    small = set(small["customer_id"]) if len(small) else set()
    for i, row in enumerate(acc.itertuples(index=False)):
        why, factor = [], 1.0
        cur = row.currency
        if row.past_due_ar > 0:
            base = row.exposure * (0.25 + 0.75 * row.risk)
            why.append(f"{format_amount(int(row.past_due_ar), cur, thousands=True)} {cur} past due "
                       f"(oldest {int(row.oldest_days_past_due)} days)"
                       + (" [no fx rate: unconverted]" if unconverted[i] else "")
                       + f" x risk weight {0.25 + 0.75 * row.risk:.2f} ({row.risk_source})")
        else:
            base = 0.0
            why.append(f"nothing past due; {format_amount(int(row.due_soon), cur, thousands=True)} "
                       f"{cur} falls due within 5 days" if row.due_soon else "nothing past due")
        if row.broken_promises:
            f = 1.5 ** min(int(row.broken_promises), 3)
            factor *= f
            why.append(f"{row.broken_promises} broken promise(s), last due "
                       f"{last_broken[row.customer_id].date()} x{f:.2f}")
        if row.promise_due_today:
            factor *= 1.5
            why.append(f"promise of {format_amount(int(row.promise_due_today), cur, thousands=True)} "
                       f"{cur} due today x1.5")
        if row.disputes_awaiting:
            factor *= 1.25
            why.append(f"dispute awaiting action ({row.dispute_note}) x1.25")
        gap = row.days_since_contact
        if row.past_due_ar > 0 and (pd.isna(gap) or gap >= policy.contact_gap_days):
            factor *= 1.2
            why.append(("never contacted" if pd.isna(gap) else f"no contact for {int(gap)} days")
                       + " x1.2")
        if row.stage in ("final", "escalate_to_sales", "suspension"):
            factor *= 1.2
            why.append(f"stage {row.stage} x1.2")
        if isinstance(row.pending_promise, pd.Timestamp) and not pd.isna(row.pending_promise):
            why.append(f"promise pending until {row.pending_promise.date()}")
        priority = base * factor if base else row.due_soon / 10 ** 6 * 1e-3
        priorities.append(priority)
        reasons.append("; ".join(why))
        actions.append(_next_action(row, stage_objs[i], done[i], policy,
                                    row.customer_id in suspended, row.customer_id in small))
    acc["priority"] = np.round(priorities, 4)
    acc["reasons"] = reasons
    acc["next_action"] = actions
    acc["_unconverted"] = unconverted
    missing = sorted(set(acc.loc[acc["_unconverted"], "currency"]))
    if missing:
        # amounts in different currencies are not comparable without a rate: rank within
        # each currency (the report currency first) and say so
        acc["_group"] = np.where(acc["currency"] == report_currency, "", acc["currency"])
        acc = acc.sort_values(["_group", "priority", "past_due_ar", "customer_id"],
                              ascending=[True, False, False, True], kind="stable")
    else:
        acc = acc.sort_values(["priority", "past_due_ar", "customer_id"],
                              ascending=[False, False, True], kind="stable")
    acc = acc.reset_index(drop=True)
    acc.insert(0, "rank", np.arange(1, len(acc) + 1))
    cols = ["rank", "customer_id", "customer_name", "collector", "currency", "open_ar",
            "past_due_ar", "oldest_days_past_due", "open_invoices", "stage", "next_action", "tier",
            "risk", "risk_source", "broken_promises", "promise_due_today", "open_disputes",
            "disputes_awaiting", "days_since_contact", "pending_promise", "status", "priority",
            "reasons"]
    out = acc[cols]
    out.attrs.update({"as_of": str(D.date()), "policy": policy.label,
                      "report_currency": report_currency, "notes": notes,
                      "ranking": (f"within each currency (no fx_rates to {report_currency} for "
                                  f"{', '.join(missing)})" if missing
                                  else f"across currencies in {report_currency}")})
    return out


def _stage_done(acc: pd.DataFrame, stages, acts: pd.DataFrame, D: pd.Timestamp) -> list[bool]:
    """Was the current stage's action logged since the account entered the stage?"""
    kind_of = {"email": ("email",), "call": ("call", "promise_to_pay"), "letter": ("letter",),
               "escalation": ("escalation",), "suspension": ("suspension",)}
    want = [(i, row.customer_id, kind,
             D - pd.Timedelta(days=int(row.oldest_days_past_due) - stage.from_days))
            for i, (row, stage) in enumerate(zip(acc.itertuples(index=False), stages))
            if stage is not None for kind in kind_of[stage.action]]
    done = np.zeros(len(acc), dtype=bool)
    if not want or not len(acts):
        return done.tolist()
    want = pd.DataFrame(want, columns=["row", "customer_id", "kind", "entered"])
    day = acts["timestamp"].dt.tz_convert(None).dt.normalize()
    logged = pd.DataFrame({"customer_id": acts["customer_id"].to_numpy(),
                           "kind": acts["kind"].to_numpy(), "day": day.to_numpy()})
    logged = logged[(logged["day"] <= D) & logged["kind"].isin(set(want["kind"]))]
    hit = want.merge(logged, on=["customer_id", "kind"])
    done[hit.loc[hit["day"] >= hit["entered"], "row"].unique()] = True
    return done.tolist()


def _next_action(row, stage: DunningStage | None, done: bool, policy: CollectionsPolicy,
                 suspend: bool, small_balance: bool = False) -> str:
    if suspend and row.status not in ("suspended", "closed"):
        return "recommend suspension (see suspension proposals)"
    if row.promise_due_today:
        return "check today's promised payment; call if it has not arrived"
    if row.broken_promises:
        return "call: promise broken; ask for a new date and amount, escalate if it breaks again"
    if row.disputes_awaiting:
        return f"work the dispute ({row.dispute_note}) with sales/billing"
    if stage is None:
        return "no action: not yet in a dunning stage"
    if isinstance(row.pending_promise, pd.Timestamp) and not pd.isna(row.pending_promise):
        return f"wait: promise to pay by {row.pending_promise.date()}"
    if stage.action == "suspension" and not suspend:
        # the suspension stage by age, but not the policy's suspension rule (amount, broken
        # promises): never advise suspending an account the policy would not suspend
        if small_balance:
            return ("propose the small-balance write-off (see write-off proposals); "
                    "below the suspension rule")
        least = format_amount(policy.suspension_min_amount.minor(row.currency), row.currency,
                              thousands=True)
        short = (f"oldest {int(row.oldest_days_past_due)} days past due, under "
                 f"{policy.suspension_min_days}" if row.oldest_days_past_due
                 < policy.suspension_min_days else f"past due under {least} {row.currency}")
        return (f"escalate to sales: stage {stage.stage} by age, but no suspension ({short}; "
                f"fewer than {policy.suspension_broken_promises} broken promises)")
    if not done:
        what = stage.template or stage.stage
        return {"email": f"send the {what} email",
                "call": f"call: {what} reminder",
                "letter": f"send the {what} letter",
                "escalation": "escalate to sales",
                "suspension": "suspend the account"}[stage.action] + f" (stage {stage.stage})"
    nxt = [s for s in policy.stages if s.from_days > stage.from_days]
    if nxt:
        days_left = nxt[0].from_days - int(row.oldest_days_past_due)
        return f"follow up; {stage.stage} done, next stage {nxt[0].stage} in {days_left} days"
    return f"follow up; {stage.stage} done"


# =========================================================================== proposals

def suspension_proposals(ledger: Ledger, as_of, policy: CollectionsPolicy | None = None,
                         activities: pd.DataFrame | None = None,
                         without_history: str = "strict",
                         outcomes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Accounts the policy says to suspend, with the evidence.

    A recommendation when (oldest past-due invoice >= ``min_days_past_due`` and past-due
    amount >= ``min_amount_past_due``) or when the account broke at least
    ``broken_promises`` promises due within ``broken_promise_lookback_days``. Accounts
    already suspended or closed **on** ``as_of`` are not proposed again: the status is the
    one in force that day (:mod:`workbench.master`), so an account suspended later is
    proposed at an earlier date. Where the status on ``as_of`` cannot be known (a past date
    without a ``customer_changes`` table and ``without_history="strict"``) the account is
    judged on its evidence and ``attrs["notes"]`` says so. ``outcomes``: the promise outcomes
    of this date and log when the caller has them (:func:`worklist` does).
    """
    policy = policy or load_collections_policy()
    D = ledger.require_data_by(as_of)
    policy = policy.for_ledger(ledger, D)
    acts = ledger.activities if activities is None else activities
    items = ledger.open_items(D, customer_columns=("name",))
    cols = ["customer_id", "customer_name", "currency", "past_due_ar", "oldest_days_past_due",
            "broken_promises", "rules", "evidence", "status", "policy"]
    master, notes = _master_on(ledger, D, ("status",), without_history)
    if not len(items):
        out = pd.DataFrame(columns=cols)
        out.attrs["notes"] = notes
        return out
    past = items[items["days_past_due"] > 0]
    g = past.groupby(["customer_id", "currency"])
    acc = pd.DataFrame({"past_due_ar": g["open_minor"].sum(),
                        "oldest_days_past_due": g["days_past_due"].max(),
                        "past_due_invoices": g.size()}).reset_index()
    if outcomes is None:
        outcomes = promise_outcomes(ledger, D, acts, policy.kpi_options())
    lookback = D - pd.Timedelta(days=policy.suspension_lookback_days)
    broken = outcomes[(outcomes["status"] == "broken") & (outcomes["promise_date"] >= lookback)]
    # accounts with broken promises but nothing past due are still considered
    extra = set(broken["customer_id"]) - set(acc["customer_id"])
    if extra:
        cust_cur = ledger.customers.set_index("customer_id")["currency"]
        acc = pd.concat([acc, pd.DataFrame({"customer_id": sorted(extra),
                                            "currency": [cust_cur[c] for c in sorted(extra)],
                                            "past_due_ar": 0, "oldest_days_past_due": 0,
                                            "past_due_invoices": 0})], ignore_index=True)
    cust = ledger.customers.set_index("customer_id")
    # the status in force on D (an account suspended later is still open to a proposal then)
    status = master["status"] if "status" in cust else pd.Series("active", index=cust.index)
    unknown_status = set(master.index[master["_unknown_status"]]) if "status" in cust else set()
    broken_of: dict[str, list] = {}        # customer -> [(activity, promise date)], in order
    for c, a, d in zip(broken["customer_id"], broken["activity_id"], broken["promise_date"]):
        broken_of.setdefault(c, []).append((a, d))
    rows = []
    for r in acc.itertuples(index=False):
        if status.get(r.customer_id) in ("suspended", "closed"):
            continue
        threshold = policy.suspension_min_amount.minor(r.currency)
        rules, evidence = [], []
        if r.oldest_days_past_due >= policy.suspension_min_days and r.past_due_ar >= threshold:
            rules.append("days and amount past due")
            evidence.append(f"oldest invoice {int(r.oldest_days_past_due)} days past due (policy "
                            f">= {policy.suspension_min_days}); "
                            f"{format_amount(int(r.past_due_ar), r.currency, thousands=True)} "
                            f"{r.currency} past due in {int(r.past_due_invoices)} invoice(s) (policy >= "
                            f"{format_amount(threshold, r.currency, thousands=True)})")
        b = broken_of.get(r.customer_id, [])
        if len(b) >= policy.suspension_broken_promises:
            rules.append("broken promises")
            evidence.append(f"{len(b)} broken promises in {policy.suspension_lookback_days} days "
                            f"(policy >= {policy.suspension_broken_promises}): " + ", ".join(
                                f"{a} due {d.date()}" for a, d in b))
        if rules:
            rows.append({"customer_id": r.customer_id, "customer_name": cust["name"].get(r.customer_id),
                         "currency": r.currency, "past_due_ar": int(r.past_due_ar),
                         "oldest_days_past_due": int(r.oldest_days_past_due),
                         "broken_promises": len(b), "rules": " + ".join(rules),
                         "evidence": "; ".join(evidence), "status": "recommended",
                         "policy": policy.label})
    out = pd.DataFrame(rows, columns=cols)
    out = out.sort_values(["past_due_ar", "customer_id"], ascending=[False, True]).reset_index(drop=True)
    unsure = sorted(set(out["customer_id"]) & unknown_status)
    if unsure:
        notes.append(f"{len(unsure)} proposed account(s) have no known status on {D.date()} "
                     f"(no history of the customer master): proposed on the evidence; check "
                     f"they were not already suspended or closed then")
    out.attrs["notes"] = notes
    return out


def write_off_proposals(ledger: Ledger, as_of, policy: CollectionsPolicy | None = None
                        ) -> pd.DataFrame:
    """Small remaining balances the policy proposes to write off, each awaiting approval.

    An open invoice qualifies when its open balance is at or under ``max_balance`` (in
    its currency), it is at least ``min_days_past_due`` past due, and (by default) no
    dispute on it is open. Nothing is written off here: each row is a proposal for the
    ``approval`` role.
    """
    policy = policy or load_collections_policy()
    D = ledger.require_data_by(as_of)
    policy = policy.for_ledger(ledger, D)
    items = ledger.open_items(D, customer_columns=("name",))    # no master data that changes
    cols = ["invoice_id", "customer_id", "customer_name", "currency", "open_balance",
            "days_past_due", "last_payment", "evidence", "approval", "status", "policy"]
    if not len(items):
        return pd.DataFrame(columns=cols)
    limit = items["currency"].map(lambda c: policy.write_off_max_balance.minor(c))
    sel = (items["open_minor"] <= limit) & (items["days_past_due"] >= policy.write_off_min_days)
    if policy.write_off_no_open_dispute:
        sel &= ~items["in_dispute"]
    cand = items[sel]
    apps = ledger.applications
    last_pay = apps[apps["applied_date"] <= D].groupby("invoice_id")["applied_date"].max()
    rows = []
    for r in cand.itertuples(index=False):
        lp = last_pay.get(r.invoice_id)
        amount = format_amount(int(r.open_minor), r.currency)
        rows.append({
            "invoice_id": r.invoice_id, "customer_id": r.customer_id,
            "customer_name": getattr(r, "customer_name", None), "currency": r.currency,
            "open_balance": int(r.open_minor), "days_past_due": int(r.days_past_due),
            "last_payment": None if lp is None else str(lp.date()),
            "evidence": (f"open {amount} {r.currency} of {format_amount(int(r.amount_minor), r.currency)} "
                         f"(policy <= {format_amount(policy.write_off_max_balance.minor(r.currency), r.currency)}); "
                         f"{int(r.days_past_due)} days past due (policy >= {policy.write_off_min_days}); "
                         f"no open dispute; last payment "
                         f"{'none' if lp is None else lp.date()}"),
            "approval": policy.write_off_approval, "status": "awaiting approval",
            "policy": policy.label})
    return pd.DataFrame(rows, columns=cols)
