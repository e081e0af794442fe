"""Scoring proposals against the demo's truth, and replaying a ledger's cash."""

from __future__ import annotations

import pandas as pd

from ..ledger import Ledger, to_date
from ..money import format_amount

__all__ = ["replay_ledger", "evaluate", "evaluate_by_kind"]


def replay_ledger(ledger: Ledger, since) -> tuple[Ledger, pd.DataFrame]:
    """The ledger as if the cash received on or after ``since`` had not been applied, and
    those receipts (for evaluating the engine against the demo's truth)."""
    S = to_date(since)
    rec = ledger.receipts
    held = rec[rec["receipt_date"] >= S]
    apps = ledger.applications
    keep = ~apps["receipt_id"].isin(held["receipt_id"])
    tables = dict(ledger.tables)
    tables["applications"] = apps[keep].reset_index(drop=True)
    replay = Ledger(tables, ledger.present, ledger.source + f" (replay from {S.date()})",
                    ledger.load_report, ledger.report_currency)
    return replay, held.reset_index(drop=True)


def _line_sets(lines: pd.DataFrame) -> pd.Series:
    """receipt_id -> frozenset of (invoice_id, amount_minor); empty when there are no lines."""
    sets: dict = {}
    for r, i, a in zip(lines["receipt_id"], lines["invoice_id"], lines["amount_minor"]):
        sets.setdefault(r, set()).add((i, int(a)))
    return pd.Series({r: frozenset(v) for r, v in sets.items()}, dtype=object)


def evaluate(applications: pd.DataFrame, receipts: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Score proposals against the demo's truth (receipt -> invoice, amount).

    A receipt's auto lines are *correct* when they are exactly the true invoices and
    amounts (overpayments: the true lines, the excess left unapplied). ``wrong cash`` is
    what auto lines put on an invoice the receipt did not pay (or beyond what it paid).
    """
    truth = truth[truth["receipt_id"].isin(receipts["receipt_id"])]
    true_sets = _line_sets(truth)
    auto = applications[applications["status"] == "auto"]
    auto_sets = _line_sets(auto)
    rules = auto.groupby("receipt_id")["rule"].agg(lambda s: s.iloc[0])
    correct = pd.Series({r: (true_sets.get(r) == s) for r, s in auto_sets.items()}, dtype=bool)
    true_amount = truth.groupby(["receipt_id", "invoice_id"])["amount_minor"].sum()
    wrong, wrong_by, auto_by = 0, {}, {}
    for r in auto.itertuples(index=False):
        t = int(true_amount.get((r.receipt_id, r.invoice_id), 0))
        w = max(int(r.amount_minor) - t, 0)
        wrong += w
        wrong_by[r.currency] = wrong_by.get(r.currency, 0) + w
        auto_by[r.currency] = auto_by.get(r.currency, 0) + int(r.amount_minor)
    n = len(receipts)
    per_rule = {}
    for rule, ids in rules.groupby(rules).groups.items():
        c = correct.reindex(list(ids))
        per_rule[rule] = {"receipts": int(len(ids)), "correct": int(c.sum()),
                          "precision": round(float(c.mean()), 4)}
    unapplied_truth = int((~receipts["receipt_id"].isin(truth["receipt_id"])).sum())
    return {"receipts": n, "auto_receipts": int(len(auto_sets)),
            "auto_share": round(len(auto_sets) / n, 4) if n else 0.0,
            "auto_correct": int(correct.sum()),
            "precision": round(float(correct.mean()), 4) if len(correct) else None,
            "wrong_cash_minor": int(wrong),
            "auto_cash_minor": int(auto["amount_minor"].sum()),
            "wrong_cash": {c: format_amount(v, c) for c, v in sorted(wrong_by.items())},
            "auto_cash": {c: format_amount(v, c) for c, v in sorted(auto_by.items())},
            "receipts_without_true_invoice": unapplied_truth, "per_rule": per_rule}




def evaluate_by_kind(applications: pd.DataFrame, receipts: pd.DataFrame, truth: pd.DataFrame,
                     kinds: pd.Series) -> pd.DataFrame:
    """Auto rate and precision per kind of payment (``kinds``: receipt_id -> kind).

    *Matchable* receipts are those with at least one true application; the auto rate is
    the share of them with auto lines, precision the share of auto receipts whose lines
    are exactly the true invoices and amounts.
    """
    rows = []
    matchable_ids = set(truth["receipt_id"])
    kind_of = receipts["receipt_id"].map(kinds).fillna("unknown")
    groups = [("all", receipts)] + [(k, receipts[kind_of == k]) for k in sorted(kind_of.unique())]
    for name, rec in groups:
        if not len(rec):
            continue
        matchable = rec[rec["receipt_id"].isin(matchable_ids)]
        ev = evaluate(applications[applications["receipt_id"].isin(rec["receipt_id"])], rec, truth)
        auto_matchable = applications[(applications["status"] == "auto")
                                      & applications["receipt_id"].isin(matchable["receipt_id"])
                                      ]["receipt_id"].nunique()
        rows.append({"kind": name, "receipts": len(rec), "matchable": len(matchable),
                     "auto": int(auto_matchable),
                     "auto_rate": round(auto_matchable / len(matchable), 4) if len(matchable) else None,
                     "auto_receipts": ev["auto_receipts"], "auto_correct": ev["auto_correct"],
                     "precision": ev["precision"], "wrong_cash_minor": ev["wrong_cash_minor"]})
    return pd.DataFrame(rows)
