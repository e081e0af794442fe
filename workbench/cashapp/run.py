"""A cash application run: import, match, reconcile, write; posting approved lines."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..ledger import Ledger, to_date
from ..money import format_amount
from .engine import match_receipts
from .policy import CashAppPolicy, load_cashapp_policy
from .reconcile import reconcile

__all__ = ["CashAppRun", "run_cashapp", "write_run", "repeated_short_pays"]


@dataclass
class CashAppRun:
    """Everything one run proposes; nothing here changes the ledger."""

    as_of: pd.Timestamp
    policy: CashAppPolicy
    statements: list
    bank_receipts: pd.DataFrame      # credits to apply (new, or in the ledger but unapplied)
    duplicates: int                  # bank references seen twice in the files
    already_applied: pd.DataFrame    # credits the ledger has applied already (skipped)
    applications: pd.DataFrame
    deductions: pd.DataFrame
    unapplied: pd.DataFrame
    reconciliation: dict
    skipped: pd.DataFrame | None = None  # duplicates skipped, each named with its statement
    bank_map: str | None = None          # the column map bank CSV files were read with

    def summary(self) -> dict:
        apps = self.applications
        auto = apps[apps["status"] == "auto"]
        sugg = apps[apps["status"] == "suggested"]
        by_rule = {}
        for rule, g in apps.groupby("rule"):
            by_rule[rule] = {"receipts": int(g["receipt_id"].nunique()),
                             "auto_receipts": int(g.loc[g["status"] == "auto", "receipt_id"].nunique()),
                             "lines": int(len(g))}
        n = len(self.bank_receipts)
        money = lambda df, col="amount_minor": {c: format_amount(int(v), c) for c, v in  # noqa: E731
                                                df.groupby("currency")[col].sum().items()}
        fully_auto = 0
        if n:
            auto_by = auto.groupby("receipt_id")["amount_minor"].sum()
            rem = self.bank_receipts.set_index("receipt_id")["amount_minor"]
            fully_auto = int((auto_by.reindex(rem.index).fillna(0) == rem).sum())
        return {
            "as_of": str(self.as_of.date()), "policy": self.policy.label,
            "policy_source": self.policy.source, "bank_map": self.bank_map,
            "auto_post_threshold": self.policy.auto_post_threshold,
            "statements": len(self.statements),
            "statement_files": [{"file": Path(s.file).name, "path": str(Path(s.file).resolve()),
                                 "sha256": _sha256(s.file), "format": s.format,
                                 "statement_id": s.statement_id, "account": s.account,
                                 "currency": s.currency, "encoding": s.encoding,
                                 "balance_tied": s.tie_checked, "notes": s.notes}
                                for s in self.statements],
            "skipped": ([] if self.skipped is None else
                        [{"receipt_id": r.receipt_id, "statement_id": r.statement_id,
                          "file": r.file, "line": int(r.source_line), "reason": r.reason}
                         for r in self.skipped.itertuples(index=False)]),
            "receipts": n, "duplicates_skipped": self.duplicates,
            "already_applied_in_ledger": int(len(self.already_applied)),
            "auto_applied": {"receipts": int(auto["receipt_id"].nunique()), "lines": int(len(auto)),
                             "fully_applied_receipts": fully_auto, "amount": money(auto)},
            "suggested": {"receipts": int(sugg["receipt_id"].nunique()), "lines": int(len(sugg)),
                          "amount": money(sugg)},
            "unapplied": {"note": "cash not applied automatically; suggested lines stay "
                                  "here until approved and posted",
                          "receipts": int(len(self.unapplied)),
                          "amount": money(self.unapplied, "unapplied_minor") if len(self.unapplied) else {}},
            "deductions_proposed": {"lines": int(len(self.deductions)),
                                    "amount": money(self.deductions) if len(self.deductions) else {}},
            "match_rate_by_rule": by_rule,
            "reconciliation": {"totals": self.reconciliation["totals"],
                               "sla_business_days": self.reconciliation["sla_business_days"],
                               "sla_breaches": self.reconciliation["sla_breaches"],
                               "statements": [
                                   {k: (None if v is None or (isinstance(v, float) and v != v) else
                                        (int(v) if isinstance(v, (np.integer,)) else v))
                                    for k, v in row.items()}
                                   for row in self.reconciliation["by_statement"].to_dict("records")]},
        }


def _sha256(path) -> str:
    import hashlib
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_cashapp(ledger: Ledger, bank_files, as_of=None, bank_map=None,
                policy: CashAppPolicy | None = None, progress: bool = False) -> CashAppRun:
    """Import bank files (all checked first), match their credits, reconcile."""
    from ..io.bank import read_statements

    policy = policy or load_cashapp_policy()
    bank_files = list(bank_files)
    if not bank_files:
        raise ValueError("no bank statement files given")
    statements = read_statements(bank_files, bank_map)
    credits, skipped, already, done = bank_credits(ledger, statements)
    todo = credits[~done].copy()
    todo["amount_minor"] = (credits["amount_minor"] - already)[~done].to_numpy()
    as_of = to_date(as_of) if as_of is not None else (
        max(todo["receipt_date"].max(), ledger.last_date) if len(todo) else ledger.last_date)
    future = todo[todo["receipt_date"] > as_of]
    if len(future):
        raise ValueError(f"{len(future)} bank credit(s) are dated after the as-of date "
                         f"{as_of.date()} (first: {future['receipt_id'].iloc[0]} on "
                         f"{future['receipt_date'].iloc[0].date()}): use a later --as-of")
    apps, deductions, unapplied = match_receipts(ledger, todo, as_of, policy, progress)
    full = credits.copy()
    full["already_minor"] = already.to_numpy()
    rec = reconcile(statements, full, apps, deductions, as_of, policy, unapplied, skipped)
    return CashAppRun(as_of, policy, statements, todo.reset_index(drop=True), int(len(skipped)),
                      credits[done].reset_index(drop=True), apps, deductions, unapplied, rec,
                      skipped, None if bank_map is None else str(Path(bank_map).resolve()))


def bank_credits(ledger: Ledger, statements) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """The credits of a run's statements against the ledger: (credits, skipped duplicates,
    already applied in the ledger per credit, done = fully applied in the ledger)."""
    from ..io.bank import combine

    credits, skipped = combine(statements)
    credits = _against_ledger(ledger, credits)
    applied = ledger.applications.groupby("receipt_id")["amount_minor"].sum() \
        if len(ledger.applications) else pd.Series(dtype=np.int64)
    already = credits["receipt_id"].map(applied).fillna(0).astype(np.int64).where(
        credits["_in_ledger"], 0)
    done = credits["_in_ledger"] & (credits["amount_minor"] - already <= 0)
    return credits.drop(columns="_in_ledger"), skipped, already, done


def _against_ledger(ledger: Ledger, credits: pd.DataFrame) -> pd.DataFrame:
    """Mark the credits the ledger already holds, by the whole entry: its bank reference,
    amount and currency. Such a credit takes the ledger's receipt id (whatever suffix a
    clash in this run gave it); a credit whose bank reference the ledger uses for another
    receipt (another amount or currency) is a new receipt with an id that says so."""
    out = credits.copy()
    rec = ledger.receipts
    out["_in_ledger"] = False
    if not len(rec):
        return out
    base = out["bank_reference"].where(out["bank_reference"] != "", out["receipt_id"]) \
        if "bank_reference" in out else out["receipt_id"]
    ccy = rec["currency"] if "currency" in rec else pd.Series("", index=rec.index)
    known = dict(zip(zip(rec["receipt_id"], rec["amount_minor"], ccy), rec["receipt_id"]))
    ids = set(rec["receipt_id"])
    same = [(b, a, c) in known for b, a, c in zip(base, out["amount_minor"], out["currency"])]
    same = pd.Series(same, index=out.index)
    out.loc[same, "receipt_id"] = base[same]
    clash = ~same & out["receipt_id"].isin(ids)
    if clash.any():
        from ..io.bank import entry_suffix
        out.loc[clash, "receipt_id"] = out.loc[clash, "receipt_id"] + entry_suffix(out[clash])
    out["_in_ledger"] = same.to_numpy()
    return out


def write_run(run: CashAppRun, out: str | Path) -> Path:
    """Write a run's files into ``out`` (replaced as a whole, atomically)."""
    import json
    import shutil

    from ..io.writer import make_temp_dir, replace_dir
    from ..reports import money_frame

    out = Path(out)
    tmp = make_temp_dir(out)
    try:
        cols = ["receipt_id", "invoice_id", "amount", "status", "rule", "confidence", "reason",
                "currency"]
        apps = money_frame(run.applications.rename(columns={"amount_minor": "amount"}), ["amount"])
        apps.reindex(columns=cols).to_csv(tmp / "applications.csv", index=False, lineterminator="\n")
        un = money_frame(run.unapplied.rename(columns={"amount_minor": "amount",
                                                       "auto_applied_minor": "auto_applied",
                                                       "unapplied_minor": "unapplied"}),
                         ["amount", "auto_applied", "unapplied"])
        un.to_csv(tmp / "unapplied.csv", index=False, lineterminator="\n", date_format="%Y-%m-%d")
        ded = money_frame(run.deductions.rename(columns={"amount_minor": "amount"}), ["amount"])
        ded.reindex(columns=["receipt_id", "invoice_id", "amount", "currency", "status", "reason"]).to_csv(
            tmp / "deductions.csv", index=False, lineterminator="\n")
        bank = money_frame(run.bank_receipts.rename(columns={"amount_minor": "amount"}), ["amount"])
        bank.reindex(columns=["receipt_id", "bank_reference", "receipt_date", "amount", "currency",
                              "payer_name", "reference", "customer_id", "bank_account",
                              "statement_id", "source_file", "source_line"]).to_csv(
            tmp / "receipts.csv", index=False, lineterminator="\n", date_format="%Y-%m-%d")
        skipped = run.skipped if run.skipped is not None else pd.DataFrame(
            columns=["receipt_id", "amount_minor", "currency"])
        money_frame(skipped.rename(columns={"amount_minor": "amount"}), ["amount"]).to_csv(
            tmp / "skipped.csv", index=False, lineterminator="\n", date_format="%Y-%m-%d")
        rec = run.reconciliation
        for name in ("by_statement", "by_day", "unapplied_aging"):
            df = rec[name]
            if len(df) and "currency" in df:
                money_cols = [c for c in df.columns if c.endswith("_minor")]
                df = df.copy()
                for c in money_cols:
                    df[c] = df[c].astype("Int64")
                keep = df[money_cols].isna()
                df = money_frame(df.fillna({c: 0 for c in money_cols}), money_cols)
                for c in money_cols:
                    df.loc[keep[c].to_numpy(), c] = ""
                df = df.rename(columns={c: c[:-6] for c in money_cols})
            df.to_csv(tmp / f"reconciliation_{name}.csv", index=False, lineterminator="\n",
                      date_format="%Y-%m-%d")
        (tmp / "summary.json").write_text(json.dumps(run.summary(), indent=2, default=str) + "\n")
        replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def repeated_short_pays(ledger: Ledger, run: CashAppRun | None = None, minimum: int = 2
                        ) -> pd.DataFrame:
    """Customers who short-pay again and again: short pays proposed in this run plus, from
    history, invoices closed by a small-balance write-off after a payment."""
    rows = []
    if run is not None and len(run.deductions):
        inv_cust = ledger.invoices.set_index("invoice_id")["customer_id"]
        d = run.deductions.assign(customer_id=run.deductions["invoice_id"].map(inv_cust))
        for (c, cur), g in d.groupby(["customer_id", "currency"]):
            rows.append({"customer_id": c, "currency": cur, "source": "this run", "count": len(g),
                         "amount_minor": int(g["amount_minor"].sum())})
    wo = ledger.write_offs
    if len(wo):
        small = wo[wo["reason"].fillna("").str.contains("small", case=False) & (wo["amount_minor"] > 0)]
        paid = set(ledger.applications["invoice_id"])
        small = small[small["invoice_id"].isin(paid)]
        inv_cust = ledger.invoices.set_index("invoice_id")["customer_id"]
        small = small.assign(customer_id=small["invoice_id"].map(inv_cust))
        for (c, cur), g in small.groupby(["customer_id", "currency"]):
            rows.append({"customer_id": c, "currency": cur, "source": "history (small-balance write-offs)",
                         "count": len(g), "amount_minor": int(g["amount_minor"].sum())})
    out = pd.DataFrame(rows, columns=["customer_id", "currency", "source", "count", "amount_minor"])
    if not len(out):
        return out
    total = out.groupby(["customer_id", "currency"])["count"].transform("sum")
    out = out[total >= minimum]
    names = ledger.customers.set_index("customer_id")["name"]
    out.insert(1, "customer_name", out["customer_id"].map(names))
    return out.sort_values(["count", "amount_minor"], ascending=False).reset_index(drop=True)
