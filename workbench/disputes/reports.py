"""Dispute aging by owner or reason, the disputes past their due date, and the customer's
view of what they dispute reconciled with ours."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from ..ledger import Ledger, to_date
from ..money import MoneyError, format_money, parse_amount
from .policy import OWNERS, DisputePolicy, load_dispute_policy


def dispute_aging(states: pd.DataFrame, by: str = "owner",
                  policy: DisputePolicy | None = None) -> pd.DataFrame:
    """Open disputes by owner or reason and currency: how many, how much, how old.

    Age = as-of date - opened date, in the policy's age buckets. Returns one row per
    (group, currency): ``<by>, label, currency, disputes, amount_minor, overdue,
    overdue_minor, amount_unknown`` (disputes whose amount is unknown, counted in
    ``disputes`` but not in any amount) and per bucket ``<bucket>`` (amount, minor units) and
    ``<bucket> count``. Amounts are sums of integers, never added across currencies.
    """
    if by not in ("owner", "reason"):
        raise ValueError(f"by must be owner or reason; got {by!r}")
    policy = policy or load_dispute_policy()
    key = "owner" if by == "owner" else "reason_code"
    labels = policy.bucket_labels
    o = states[states["is_open"]] if len(states) else states
    rows = []
    for (k, cur), g in o.groupby([key, "currency"], sort=True):
        b = policy.bucket_of(g["age_days"].to_numpy())
        amt = g["amount_minor"].to_numpy()
        over = (g["days_overdue"] > 0).to_numpy()
        row = {by: k, "label": g[f"{by}_label" if by == "owner" else "reason"].iloc[0],
               "currency": cur, "disputes": len(g), "amount_minor": int(amt.sum()),
               "overdue": int(over.sum()), "overdue_minor": int(amt[over].sum()),
               "amount_unknown": int((~g["amount_known"].astype(bool)).sum())
               if "amount_known" in g else 0}
        for i, lab in enumerate(labels):
            row[lab] = int(amt[b == i].sum())
            row[f"{lab} count"] = int((b == i).sum())
        rows.append(row)
    out = pd.DataFrame(rows, columns=[by, "label", "currency", "disputes", "amount_minor",
                                      "overdue", "overdue_minor", "amount_unknown", *labels,
                                      *[f"{lab} count" for lab in labels]])
    if by == "owner" and len(out):
        out = out.sort_values(["owner", "currency"], key=lambda s: s.map(
            {o: i for i, o in enumerate(OWNERS)}) if s.name == "owner" else s, kind="stable")
    out = out.reset_index(drop=True)
    out.attrs.update({**states.attrs, "by": by, "buckets": labels})
    return out


def overdue_disputes(states: pd.DataFrame) -> pd.DataFrame:
    """Open disputes past their due date, the most overdue first."""
    o = states[states["is_open"] & (states["days_overdue"] > 0)] if len(states) else states
    return o.sort_values(["days_overdue", "dispute_id"], ascending=[False, True],
                         kind="stable").reset_index(drop=True)

# =========================================================================== the customer's view

class CustomerViewError(ValueError):
    """A customer's dispute file with problems (every one listed: file, line, column)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def read_customer_view(path: str | Path, ledger: Ledger, customer_id: str) -> pd.DataFrame:
    """The customer's disputes from a CSV of ``invoice_id, amount, reason``.

    Amounts are decimal text in the invoice's currency (the customer's for an invoice we
    do not know). Every problem is collected and raised together, each as
    ``FILE: line N, column C: what (got 'value')``.
    """
    path = Path(path)
    if not path.exists():
        raise CustomerViewError([f"{path}: file does not exist"])
    cust = ledger.customers.set_index("customer_id")
    if customer_id not in cust.index:
        raise ValueError(f"unknown customer {customer_id!r}")
    inv = ledger.invoices.set_index("invoice_id")
    problems, rows, seen = [], [], {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in ("invoice_id", "amount", "reason") if c not in header]
        if missing:
            raise CustomerViewError([f"{path}: line 1: missing column(s) {', '.join(missing)} "
                                     f"(the header must name invoice_id, amount, reason; got "
                                     f"{', '.join(header) or 'nothing'})"])
        for n, raw in enumerate(reader, start=2):
            r = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
            iid, text = r["invoice_id"], r["amount"]
            if not iid:
                problems.append(f"{path}: line {n}, column invoice_id: empty (got {iid!r})")
                continue
            if iid in seen:
                problems.append(f"{path}: line {n}, column invoice_id: invoice listed again "
                                f"(first on line {seen[iid]}) (got {iid!r})")
                continue
            seen[iid] = n
            cur = inv.at[iid, "currency"] if iid in inv.index else cust.at[customer_id, "currency"]
            try:
                minor = parse_amount(text, cur)
                if minor <= 0:
                    raise MoneyError("must be more than zero")
            except MoneyError as e:
                problems.append(f"{path}: line {n}, column amount: not an amount in {cur} ({e}) "
                                f"(got {text!r})")
                continue
            rows.append({"invoice_id": iid, "their_amount_minor": minor, "currency": cur,
                         "their_reason": r["reason"], "line": n})
    if problems:
        raise CustomerViewError(problems)
    if not rows:
        raise CustomerViewError([f"{path}: no disputes listed (only a header)"])
    return pd.DataFrame(rows)


def reconcile_customer(ledger: Ledger, customer_id: str, theirs: pd.DataFrame, as_of,
                       states: pd.DataFrame) -> pd.DataFrame:
    """The customer's disputes against ours, their open items and credit memos, as of a date.

    Categories, one per invoice: ``matched`` (both, same amount); ``amount differs``
    (both; ``difference`` = theirs - ours); ``already credited`` (only theirs, and credit
    memos dated by ``as_of`` on the invoice cover it); ``only theirs`` (the note says what
    the invoice shows: open, paid, another customer's, unknown); ``only ours``.
    """
    D = to_date(as_of)
    inv = ledger.invoices.set_index("invoice_id")
    bal = ledger.balances(D).set_index("invoice_id")["open_minor"]
    cm = ledger.credit_memos
    if len(cm) and "invoice_id" in cm:
        cm = cm[(cm["date"] <= D) & (cm["customer_id"] == customer_id)]
        credited = cm.groupby("invoice_id")["amount_minor"].sum()
        memo_ids = cm.groupby("invoice_id")["credit_memo_id"].agg(lambda s: ", ".join(sorted(s)))
    else:
        credited, memo_ids = pd.Series(dtype="int64"), pd.Series(dtype=object)
    ours = states[states["is_open"] & (states["customer_id"] == customer_id)]
    ours_by_inv = ours.groupby("invoice_id")
    out = []
    for t in theirs.to_dict("records"):
        iid, amt, cur = t["invoice_id"], int(t["their_amount_minor"]), t["currency"]
        row = {"invoice_id": iid, "currency": cur, "their_amount_minor": amt,
               "our_amount_minor": 0, "difference_minor": amt, "their_reason": t["their_reason"],
               "our_reason": "", "dispute_id": "", "owner": "",
               "open_minor": int(bal.get(iid, 0)), "credited_minor": int(credited.get(iid, 0))}
        if iid in ours_by_inv.groups:
            g = ours_by_inv.get_group(iid)
            mine = int(g["amount_minor"].sum())
            row.update(our_amount_minor=mine, difference_minor=amt - mine,
                       our_reason=", ".join(g["reason"]), dispute_id=", ".join(g["dispute_id"]),
                       owner=", ".join(g["owner_label"]))
            row["category"] = "matched" if mine == amt else "amount differs"
            row["note"] = "" if mine == amt else (
                f"they dispute {format_money(amt, cur)}, we record {format_money(mine, cur)}")
        elif iid not in inv.index:
            row.update(category="only theirs", note="not an invoice in our ledger")
        elif inv.at[iid, "customer_id"] != customer_id:
            row.update(category="only theirs", note=f"our invoice of another customer "
                                                    f"({inv.at[iid, 'customer_id']})")
        elif row["credited_minor"] >= amt:
            row.update(category="already credited", note=f"credit memo(s) {memo_ids.get(iid)} "
                       f"for {format_money(row['credited_minor'], cur)} issued")
        else:
            row["category"] = "only theirs"
            row["note"] = ("paid in full: nothing open" if row["open_minor"] == 0 else
                           f"open {format_money(row['open_minor'], cur)}, no dispute on our side")
        out.append(row)
    listed = set(theirs["invoice_id"])
    for r in ours[~ours["invoice_id"].isin(listed)].to_dict("records"):
        out.append({"invoice_id": r["invoice_id"], "currency": r["currency"],
                    "their_amount_minor": 0, "our_amount_minor": int(r["amount_minor"]),
                    "difference_minor": -int(r["amount_minor"]), "their_reason": "",
                    "our_reason": r["reason"], "dispute_id": r["dispute_id"],
                    "owner": r["owner_label"], "open_minor": int(bal.get(r["invoice_id"], 0)),
                    "credited_minor": int(credited.get(r["invoice_id"], 0)),
                    "category": "only ours", "note": "not in the customer's list"})
    cols = ["invoice_id", "category", "currency", "their_amount_minor", "our_amount_minor",
            "difference_minor", "their_reason", "our_reason", "dispute_id", "owner",
            "open_minor", "credited_minor", "note"]
    frame = pd.DataFrame(out, columns=cols).sort_values("invoice_id", kind="stable")
    frame = frame.reset_index(drop=True)
    frame.attrs.update({"as_of": str(D.date()), "customer_id": customer_id})
    return frame
