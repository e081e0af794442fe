"""The quarter-end reserve analysis: methods compared, the required reserve, the provision
against the booked allowance and the proposed journal entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..ledger import Ledger
from ..money import convert
from ..periods import quarter_of
from .backtest import backtest as run_backtest
from .expected import qualitative_adjustments
from .history import build_history
from .methods import MethodOutcome, run_methods, take_snapshot
from .policy import METHODS, ReservePolicy, load_reserve_policy
from .rollforward import rollforward

__all__ = ["ReserveResult", "reserve_analysis"]


@dataclass
class ReserveResult:
    """The reserve analysis as of a quarter end. Money is int64 minor units (``*_minor``)
    beside a ``currency`` column; ``level`` is ``currency`` (the row's own currency) or
    ``reporting`` (converted to the reporting currency at the as-of rate, per currency
    figure, then summed). :meth:`to_dict` gives the JSON."""

    as_of: pd.Timestamp
    quarter: str
    method: str
    report_currency: str
    policy: ReservePolicy
    methods: pd.DataFrame
    by_bucket: pd.DataFrame
    specific: pd.DataFrame
    qualitative: pd.DataFrame
    transition_matrices: dict
    loss_rates: pd.DataFrame
    vintages: pd.DataFrame
    vintage_curve: pd.DataFrame
    rollforward: pd.DataFrame
    backtest: pd.DataFrame
    required: dict                         # currency -> {pooled, specific, qualitative, required}
    required_report: dict | None           # the same in the reporting currency (None: no fx)
    current_balance_minor: int | None
    booked_provision_minor: int | None
    provision_minor: int | None
    journal_entry: dict | None
    notes: list = field(default_factory=list)
    outcomes: dict = field(default_factory=dict, repr=False)

    @property
    def transition_matrix(self) -> pd.DataFrame | None:
        """The roll-rate transition matrix (the portfolio's, or the first currency's)."""
        return next(iter(self.transition_matrices.values()), None)

    @property
    def required_reserve_minor(self) -> int | None:
        return None if self.required_report is None else self.required_report["required"]

    def to_dict(self) -> dict:
        from .report import result_to_dict
        return result_to_dict(self)

    def to_text(self) -> str:
        from .report import result_to_text
        return result_to_text(self)


def _convert_all(amounts: dict, rates: dict, rep: str) -> int | None:
    if any(rates.get(c) is None for c in amounts):
        return None
    return sum(convert(int(v), c, rates[c], rep) for c, v in amounts.items())


def _methods_table(outcomes, spec_by_cur, currencies, rates, rep, selected, policy):
    from .common import pct_of
    rows = []
    for m, o in outcomes.items():
        if not o.available:
            rows.append((m, "reporting", rep, False, pd.NA, pd.NA, pd.NA, pd.NA, m == selected, o.note))
            continue
        pooled = {c: o.pooled.get(c, 0) for c in currencies}
        qual = {c: sum(pct_of(pooled[c], f.adjustment_pct, c) for f in policy.qualitative)
                for c in currencies}
        spec = {c: spec_by_cur.get(c, 0) for c in currencies}
        for c in currencies:
            rows.append((m, "currency", c, True, pooled[c], qual[c], spec[c],
                         pooled[c] + qual[c] + spec[c], m == selected, o.note))
        p, q, s = (_convert_all(d, rates, rep) for d in (pooled, qual, spec))
        req = None if p is None else p + q + s
        rows.append((m, "reporting", rep, True, *(pd.NA if v is None else v for v in (p, q, s, req)),
                     m == selected, o.note))
    out = pd.DataFrame(rows, columns=["method", "level", "currency", "available", "pooled_minor",
                                      "qualitative_minor", "specific_minor", "required_minor",
                                      "selected", "note"])
    for c in ("pooled_minor", "qualitative_minor", "specific_minor", "required_minor"):
        out[c] = pd.array(out[c], dtype="Int64")
    return out


def _by_bucket_table(snap, outcomes, labels, rates, rep):
    items = snap.items
    idx = pd.MultiIndex.from_product([snap.currencies, labels],
                                     names=["currency", "bucket"])
    g = items.groupby(["currency", "bucket"], sort=False)
    out = pd.DataFrame(index=idx)
    out["open_minor"] = g["open_minor"].sum().reindex(idx, fill_value=0)
    out["specific_base_minor"] = g["specific_base_minor"].sum().reindex(idx, fill_value=0)
    out["pool_minor"] = g["pool_minor"].sum().reindex(idx, fill_value=0)
    out["specific_reserve_minor"] = g["specific_reserve_minor"].sum().reindex(idx, fill_value=0)
    for m in ("provision_matrix", "roll_rate", "model"):
        o = outcomes.get(m)
        if o is None or not o.available or o.by_bucket is None:
            continue
        bb = o.by_bucket.groupby(["currency", "bucket"])["reserve_minor"].sum()
        out[f"{m}_minor"] = bb.reindex(idx, fill_value=0)
    pm = outcomes["provision_matrix"].detail["table"]
    if len(pm):
        g2 = pm.groupby(["currency", "bucket"])[["reserve_minor", "balance_minor"]].sum()
        eff = (g2["reserve_minor"] / g2["balance_minor"].where(g2["balance_minor"] > 0) * 100)
        out["provision_matrix_effective_pct"] = eff.round(4).reindex(idx)
    rr = outcomes.get("roll_rate")
    if rr is not None and rr.available:
        out["roll_rate_loss_rate"] = rr.by_bucket.set_index(["currency", "bucket"])["loss_rate"].reindex(idx)
    out = out.reset_index()
    out.insert(0, "level", "currency")
    money = [c for c in out.columns if c.endswith("_minor")]
    for c in money:
        out[c] = out[c].astype(np.int64)
    if not len(out) or any(rates.get(c) is None for c in snap.currencies):
        return out
    conv = out.copy()
    for c in money:
        conv[c] = [convert(int(v), cur, rates[cur], rep) for v, cur in zip(conv[c], conv["currency"])]
    rep_rows = conv.groupby("bucket", sort=False)[money].sum().reindex(labels).reset_index()
    rep_rows.insert(0, "level", "reporting")
    rep_rows.insert(1, "currency", rep)
    out = pd.concat([out, rep_rows], ignore_index=True)
    for c in money:
        out[c] = out[c].astype(np.int64)
    return out


def _current_balance(ledger: Ledger, D: pd.Timestamp, notes: list):
    if not ledger.has("reserve_gl"):
        notes.append("no reserve_gl table: the current allowance balance is unknown, so the "
                     "provision and the journal entry cannot be computed")
        return None, None
    gl = ledger.reserve_gl
    row = gl[gl["period_end"] == D]
    if not len(row):
        last = gl["period_end"].max() if len(gl) else None
        notes.append(f"reserve_gl has no row for period_end {D.date()}"
                     + (f" (latest {last.date()})" if last is not None and not pd.isna(last) else "")
                     + ": the current allowance balance is unknown, so the provision and the "
                       "journal entry cannot be computed")
        return None, None
    r = row.iloc[0]
    gl_cur = r["currency"] if "currency" in row else ledger.report_currency
    if gl_cur != ledger.report_currency:
        notes.append(f"reserve_gl is kept in {gl_cur}, the reporting currency is "
                     f"{ledger.report_currency}: the allowance balance is not compared (load the "
                     f"ledger with report_currency={gl_cur})")
        return None, None
    return int(r["ending_balance_minor"]), int(r["provision_minor"])


def _journal_entry(policy: ReservePolicy, D, provision: int, rep: str, required_by_currency,
                   required_report) -> dict:
    if provision > 0:
        kind, debit, credit = "provision", policy.expense_account, policy.allowance_account
    elif provision < 0:
        kind, debit, credit = "release", policy.allowance_account, policy.expense_account
    else:
        kind, debit, credit = "none", None, None
    amt = abs(provision)
    lines = [] if kind == "none" else [
        {"account": debit, "debit_minor": amt, "credit_minor": 0},
        {"account": credit, "debit_minor": 0, "credit_minor": amt}]
    memo = {"provision": "Increase the allowance for doubtful accounts to the required reserve",
            "release": "Release the allowance for doubtful accounts down to the required reserve",
            "none": "The allowance equals the required reserve: no entry"}[kind]
    return {"date": str(D.date()), "currency": rep, "kind": kind, "amount_minor": amt,
            "lines": lines, "memo": f"{memo} as of {D.date()} ({policy.label})",
            "required_by_currency": required_by_currency, "required_report_minor": required_report}


def reserve_analysis(ledger: Ledger, as_of, policy: ReservePolicy | str | Path | None = None,
                     method: str | None = None, risk_model=None,
                     activities: pd.DataFrame | None = None,
                     backtest_quarters: int = 4) -> ReserveResult:
    """The bad-debt reserve as of a quarter end: every method, the required reserve, the
    provision and the journal entry, the allowance roll-forward and the backtest.

    Parameters
    ----------
    ledger : Ledger
    as_of : date
        The quarter end (any date works; only rows dated on or before it are used).
    policy : ReservePolicy, str or Path, optional
        Default: the shipped ``policies/reserve.yaml``.
    method : {"provision_matrix", "roll_rate", "vintage", "model"}, optional
        The pooled method booked (default: the policy's ``default_method``; when that one
        cannot run, the provision matrix, with a note).
    risk_model : RiskModel or path, optional
        A payment-risk model (:func:`workbench.risk.load_model`) for the ``model`` method.
    activities : DataFrame, optional
        The activity log for collector flags (e.g.
        :func:`workbench.collections.default_activity_frame`); default ``ledger.activities``.
    backtest_quarters : int
        Quarter ends before ``as_of`` to backtest (0: none).

    Returns
    -------
    ReserveResult

    Notes
    -----
    Required reserve = pooled (selected method, on the open items left after the specific
    reserves) + specific + qualitative (percent of the pooled figure). Provision = required
    (reporting currency) - the allowance's ending balance in ``reserve_gl`` at ``as_of``
    (the balance as booked; if this quarter's provision is already in it, the entry is the
    true-up). The allowance is kept in the reporting currency, so the provision and the
    journal entry are in it; the required reserve is also shown per currency.
    """
    if not isinstance(policy, ReservePolicy):
        policy = load_reserve_policy(policy) if policy is not None else load_reserve_policy()
    D = ledger.require_data_by(as_of)
    if method is not None and method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if isinstance(risk_model, (str, Path)):
        from ..risk import load_model
        risk_model = load_model(risk_model, D)
    if method == "model" and risk_model is None:
        raise ValueError("method 'model' needs a payment-risk model (risk_model=...)")
    rep = ledger.report_currency
    notes: list[str] = []
    last = ledger.last_date
    if last is not None and last < D:
        notes.append(f"the ledger's data ends on {last.date()}, before {D.date()}: nothing "
                     f"after {last.date()} is in it")
    history = build_history(ledger, D, policy.aging)
    snap = take_snapshot(ledger, D, policy, activities)
    notes += snap.notes
    outcomes = run_methods(ledger, snap, policy, history, risk_model,
                           [m for m in METHODS if m != "model" or risk_model is not None])
    selected = method or policy.default_method
    if selected not in outcomes or not outcomes[selected].available:
        why = outcomes[selected].note if selected in outcomes else "not run"
        if method is not None:
            raise ValueError(f"method {method} cannot run on this ledger: {why}")
        notes.append(f"the policy's method {selected} cannot run ({why}): the provision matrix "
                     f"is used")
        selected = "provision_matrix"
    for m, o in outcomes.items():
        if not o.available:
            if m != (method or policy.default_method):
                notes.append(f"{m}: not available: {o.note}")
        elif o.note:
            notes.append(f"{m}: {o.note}")
    currencies = snap.currencies
    missing_fx = [c for c in currencies if snap.rates.get(c) is None]
    if missing_fx:
        notes.append(f"no fx rate on or before {D.date()} for {', '.join(missing_fx)}: figures in "
                     f"{rep} (reporting currency) cannot be computed")
    spec = snap.specific
    spec_by_cur = {c: int(v) for c, v in spec.groupby("currency")["reserve_minor"].sum().items()}
    chosen = outcomes[selected]
    pooled = {c: chosen.pooled.get(c, 0) for c in currencies}
    qual = qualitative_adjustments(pooled, policy)
    qual_by_cur = {c: int(qual.loc[qual["currency"] == c, "amount_minor"].sum()) for c in currencies}
    required = {c: {"pooled": pooled[c], "specific": spec_by_cur.get(c, 0),
                    "qualitative": qual_by_cur[c],
                    "required": pooled[c] + spec_by_cur.get(c, 0) + qual_by_cur[c]}
                for c in currencies}
    required_report = None
    if not missing_fx:
        parts = {k: _convert_all({c: required[c][k] for c in currencies}, snap.rates, rep)
                 for k in ("pooled", "specific", "qualitative")}
        required_report = {**parts, "required": parts["pooled"] + parts["specific"]
                           + parts["qualitative"]}
    methods = _methods_table(outcomes, spec_by_cur, currencies, snap.rates, rep, selected, policy)
    by_bucket = _by_bucket_table(snap, outcomes, list(policy.aging.labels), snap.rates, rep)
    current, booked = _current_balance(ledger, D, notes)
    provision = None
    entry = None
    if current is not None and required_report is not None:
        provision = required_report["required"] - current
        entry = _journal_entry(policy, D, provision, rep,
                               {c: required[c]["required"] for c in currencies},
                               required_report["required"])
    rf = rollforward(ledger)
    if rf.attrs.get("note"):
        notes.append(rf.attrs["note"])
    elif not rf["ties"].all():
        bad = rf[~rf["ties"]]
        notes.append(f"the allowance roll-forward does not tie in {len(bad)} period(s): "
                     + "; ".join(f"{p.date()}: {i}" for p, i in zip(bad["period_end"], bad["issues"])))
    bt = pd.DataFrame()
    if backtest_quarters:
        bt = run_backtest(ledger, D, policy, backtest_quarters, risk_model, activities,
                          history=history)
        notes += bt.attrs.get("notes", [])
    rr = outcomes.get("roll_rate")
    matrices = rr.detail.get("matrices", {}) if rr is not None and rr.available else {}
    loss_rates = _loss_rates_table(outcomes, policy)
    vintages, curve = _vintage_tables(outcomes.get("vintage"), history, D)
    return ReserveResult(
        as_of=D, quarter=quarter_of(D).label, method=selected, report_currency=rep, policy=policy,
        methods=methods, by_bucket=by_bucket, specific=spec, qualitative=qual,
        transition_matrices=matrices, loss_rates=loss_rates, vintages=vintages,
        vintage_curve=curve, rollforward=rf, backtest=bt, required=required,
        required_report=required_report, current_balance_minor=current,
        booked_provision_minor=booked, provision_minor=provision, journal_entry=entry,
        notes=list(dict.fromkeys(notes)), outcomes=outcomes)


def _vintage_tables(vt: MethodOutcome | None, history, D) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per currency and vintage, exact sales and net losses; the pooled loss curve."""
    from .vintage import vintage_table
    if vt is None or not vt.detail.get("vintages"):
        return pd.DataFrame(), pd.DataFrame()
    parts = []
    for c in history.currencies:
        t = vintage_table(history, D, currency=c)
        t = t[t["sales"] > 0].rename(columns={"sales": "sales_minor", "net_loss": "net_loss_minor"})
        parts.append(t.assign(currency=c))
    vintages = pd.concat(parts, ignore_index=True)[["currency", "vintage", "age_months",
                                                     "sales_minor", "net_loss_minor", "loss_rate"]]
    for col in ("sales_minor", "net_loss_minor"):
        vintages[col] = vintages[col].astype(np.int64)
    key = next(iter(vt.detail["curves"]))
    curve = vt.detail["curves"][key].drop(columns=["sales"]).assign(pool=key)
    vintages.attrs.update({"pool": key, "rates": {k: float(v) for k, v in vt.detail["rates"].items()},
                           "used": vt.detail["used"][key], "rate": float(vt.detail["rates"][key])})
    return vintages, curve


def _loss_rates_table(outcomes: dict[str, MethodOutcome], policy: ReservePolicy) -> pd.DataFrame:
    """Per bucket: the policy's provision-matrix rate and the roll-rate implied loss rate."""
    labels = list(policy.aging.labels)
    out = pd.DataFrame({"bucket": labels,
                        "provision_matrix_rate": [float(policy.rates_pct[b]) / 100 for b in labels]})
    rr = outcomes.get("roll_rate")
    if rr is not None and rr.available:
        for key, lr in rr.detail["loss_rates"].items():
            suffix = "" if key == "portfolio" or len(rr.detail["loss_rates"]) == 1 else f"_{key}"
            out[f"roll_rate_loss_rate{suffix}"] = lr["loss_rate"].reindex(labels).to_numpy()
            out[f"roll_rate_expected_months{suffix}"] = lr["expected_months"].reindex(labels).to_numpy()
            out[f"roll_rate_status{suffix}"] = lr["status"].reindex(labels).to_numpy()
    return out
