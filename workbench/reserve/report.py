"""The reserve result as JSON-ready data (exact decimal strings) and as readable text."""

from __future__ import annotations

import math

import pandas as pd

from ..money import format_amount

__all__ = ["result_to_dict", "result_to_text", "money"]


def money(minor, currency: str) -> str | None:
    """Minor units as an exact decimal string; None for a missing figure."""
    if minor is None or minor is pd.NA or (isinstance(minor, float) and math.isnan(minor)):
        return None
    return format_amount(int(minor), currency)


def _num(v, places: int = 6):
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    return round(float(v), places)


def _records(df: pd.DataFrame, money_cols: list[str], drop=()) -> list[dict]:
    out = []
    for row in df.to_dict("records"):
        cur = row.get("currency")
        rec = {}
        for k, v in row.items():
            if k in drop:
                continue
            if k in money_cols:
                rec[k[:-len("_minor")]] = money(v, cur)
            elif isinstance(v, pd.Timestamp):
                rec[k] = str(v.date())
            elif isinstance(v, bool) or v is None or isinstance(v, str):
                rec[k] = v
            elif hasattr(v, "item"):
                rec[k] = v.item()
                if isinstance(rec[k], float) and math.isnan(rec[k]):
                    rec[k] = None
            elif v is pd.NA:
                rec[k] = None
            elif isinstance(v, float):
                rec[k] = None if math.isnan(v) else v
            else:
                rec[k] = str(v) if not isinstance(v, (int, float)) else v
        out.append(rec)
    return out


def result_to_dict(r) -> dict:
    rep = r.report_currency
    req = r.required_report
    methods_rep = r.methods[r.methods["level"] == "reporting"].set_index("method")
    details = {}
    for m, o in r.outcomes.items():
        rows = r.methods[r.methods["method"] == m]
        cur_rows = rows[rows["level"] == "currency"]
        rep_row = rows[rows["level"] == "reporting"].iloc[0]
        details[m] = {
            "available": bool(o.available), "selected": m == r.method, "note": o.note,
            **{k: money(rep_row[f"{k}_minor"], rep) for k in
               ("pooled", "qualitative", "specific", "required")},
            "by_currency": {c.currency: {k: money(getattr(c, f"{k}_minor"), c.currency) for k in
                                         ("pooled", "qualitative", "specific", "required")}
                            for c in cur_rows.itertuples(index=False)},
        }
    tm = r.transition_matrix
    vint = None
    if len(r.vintages):
        vint = {"pool": r.vintages.attrs.get("pool"),
                "lifetime_loss_rate": _num(r.vintages.attrs.get("rate")),
                "vintages_used": r.vintages.attrs.get("used", []),
                "vintages": _records(r.vintages, ["sales_minor", "net_loss_minor"]),
                "curve": _records(r.vintage_curve, [], drop=("pool",))}
    bt = r.backtest
    money_bt = ["reserve_minor", "actual_net_loss_minor", "error_minor", "abs_error_minor"]
    return {
        "quarter": r.quarter, "as_of": str(r.as_of.date()), "policy": r.policy.label,
        "method": r.method, "currency": rep, "report_currency": rep,
        "currencies": sorted(r.required),
        "required_reserve": {
            "amount": money(req["required"], rep) if req else None, "currency": rep,
            **{k: money(req[k], rep) if req else None for k in ("pooled", "specific", "qualitative")},
            "by_currency": {c: {k: money(v, c) for k, v in d.items()} for c, d in r.required.items()},
        },
        "current_balance": {"amount": money(r.current_balance_minor, rep), "currency": rep,
                            "period_end": str(r.as_of.date()),
                            "booked_provision": money(r.booked_provision_minor, rep)},
        "provision": {"amount": money(r.provision_minor, rep), "currency": rep,
                      "kind": None if r.journal_entry is None else r.journal_entry["kind"]},
        "journal_entry": None if r.journal_entry is None else {
            "date": r.journal_entry["date"], "currency": rep, "kind": r.journal_entry["kind"],
            "amount": money(r.journal_entry["amount_minor"], rep), "memo": r.journal_entry["memo"],
            "lines": [{"account": ln["account"], "debit": money(ln["debit_minor"], rep),
                       "credit": money(ln["credit_minor"], rep)} for ln in r.journal_entry["lines"]],
            "required_by_currency": {c: money(v, c) for c, v in
                                     r.journal_entry["required_by_currency"].items()},
        },
        "methods": {m: money(methods_rep.loc[m, "required_minor"], rep) for m in methods_rep.index},
        "method_details": details,
        "by_bucket": _records(r.by_bucket, [c for c in r.by_bucket.columns if c.endswith("_minor")]),
        "specific": _records(r.specific.assign(reserve_pct=r.specific["reserve_pct"].astype(str)),
                             ["open_minor", "base_minor", "reserve_minor"]),
        "qualitative": _records(r.qualitative, ["base_minor", "amount_minor"]),
        "loss_rates": _records(r.loss_rates, []),
        "transition_matrix": None if tm is None else {
            "pool": tm.attrs.get("pool"), "window": list(tm.attrs.get("window") or []),
            "transitions": tm.attrs.get("transitions"),
            "rows": {b: {s: _num(v) for s, v in row.items()} for b, row in tm.iterrows()}},
        "vintage": vint,
        "rollforward": _records(r.rollforward, [c for c in r.rollforward.columns
                                                if c.endswith("_minor")]),
        "backtest": {"currency": rep, "best_method": bt.attrs.get("best_method"),
                     "basis": bt.attrs.get("basis"), "emergence_days": bt.attrs.get("emergence_days"),
                     "mean_abs_error": {m: money(round(v), rep) for m, v in
                                        bt.attrs.get("mae", {}).items()},
                     "rows": _records(bt, money_bt) if len(bt) else []},
        "notes": list(r.notes),
    }


def _fmt(minor, cur) -> str:
    if minor is None or minor is pd.NA:
        return "n/a"
    return f"{format_amount(int(minor), cur, thousands=True)} {cur}"


def result_to_text(r) -> str:
    rep = r.report_currency
    lines = [f"Bad-debt reserve as of {r.as_of.date()} ({r.quarter}), policy {r.policy.label}",
             f"Method booked: {r.method}", ""]
    lines.append("Methods (required reserve = pooled + qualitative + specific, "
                 f"in {rep}):")
    m = r.methods[r.methods["level"] == "reporting"]
    for row in m.itertuples(index=False):
        mark = "*" if row.selected else " "
        if not row.available:
            lines.append(f" {mark} {row.method:<17} not available: {row.note}")
        else:
            lines.append(f" {mark} {row.method:<17} pooled {_fmt(row.pooled_minor, rep):>20}  "
                         f"required {_fmt(row.required_minor, rep):>20}")
    lines.append("")
    req = r.required_report
    lines.append("Required reserve:")
    for c, d in r.required.items():
        lines.append(f"  {c}: pooled {_fmt(d['pooled'], c)} + specific {_fmt(d['specific'], c)} "
                     f"+ qualitative {_fmt(d['qualitative'], c)} = {_fmt(d['required'], c)}")
    if req:
        lines.append(f"  in {rep}: {_fmt(req['pooled'], rep)} + {_fmt(req['specific'], rep)} + "
                     f"{_fmt(req['qualitative'], rep)} = {_fmt(req['required'], rep)}")
    lines.append(f"Current allowance balance: {_fmt(r.current_balance_minor, rep)}")
    lines.append(f"Provision: {_fmt(r.provision_minor, rep)}")
    je = r.journal_entry
    if je:
        lines.append(f"Journal entry {je['date']} ({je['kind']}):")
        for ln in je["lines"]:
            side = "Dr" if ln["debit_minor"] else "  Cr"
            lines.append(f"  {side} {ln['account']:<36} {_fmt(ln['debit_minor'] or ln['credit_minor'], rep):>20}")
        if not je["lines"]:
            lines.append("  (none)")
    if len(r.specific):
        lines.append("")
        lines.append(f"Specific reserves ({len(r.specific)} invoices):")
        for s in r.specific.head(15).itertuples(index=False):
            lines.append(f"  {s.invoice_id} {s.customer_id} {_fmt(s.reserve_minor, s.currency):>18}"
                         f"  {s.rule}: {s.evidence}")
        if len(r.specific) > 15:
            lines.append(f"  ... and {len(r.specific) - 15} more")
    if len(r.qualitative):
        lines.append("")
        lines.append("Qualitative adjustments (percent of the pooled reserve):")
        for f in r.qualitative.itertuples(index=False):
            lines.append(f"  {f.factor} {f.adjustment_pct:+g}% {f.currency}: "
                         f"{_fmt(f.amount_minor, f.currency)}  ({f.rationale})")
    rf = r.rollforward
    if len(rf):
        lines.append("")
        lines.append(f"Allowance roll-forward ({rep}):")
        for p in rf.itertuples(index=False):
            status = "ties" if p.ties else p.issues
            lines.append(f"  {p.period_end.date()}  begin {_fmt(p.beginning_minor, p.currency):>18}"
                         f"  provision {_fmt(p.provision_minor, p.currency):>18}"
                         f"  end {_fmt(p.ending_minor, p.currency):>18}  {status}")
    bt = r.backtest
    if len(bt):
        lines.append("")
        lines.append(f"Backtest ({rep}; best: {bt.attrs.get('best_method')}, {bt.attrs.get('basis')}):")
        for b in bt.itertuples(index=False):
            flag = "" if b.window_complete else "  (window incomplete)"
            lines.append(f"  {b.quarter_end.date()} {b.method:<17} reserve {_fmt(b.reserve_minor, rep):>18}"
                         f"  actual {_fmt(b.actual_net_loss_minor, rep):>18}"
                         f"  error {_fmt(b.error_minor, rep):>18}{flag}")
    if r.notes:
        lines.append("")
        lines.append("Notes:")
        lines += [f"  - {n}" for n in r.notes]
    return "\n".join(lines)
