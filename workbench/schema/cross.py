"""Cross-table rules: unknown references, currencies that disagree, amounts applied beyond
what there is, dates out of order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa_arrow
import pyarrow.compute as pc

from ..money import MINOR_UNITS, format_amount, parse_amount_array
from .specs import CUSTOMER_STATUS, TABLES
from .typed import Problem, RawTable, TypedTable, _Collector, _np


class IdIndex:
    """Row positions by id (Arrow hash lookups); with duplicate ids (reported elsewhere)
    the first row wins."""

    def __init__(self, ids: pd.Series):
        self._ids = _ids_array(ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __getitem__(self, pos: int):
        return self._ids[int(pos)].as_py()

    def get_indexer(self, ids) -> np.ndarray:
        got = pc.index_in(_ids_array(ids), value_set=self._ids)
        return _np(pc.fill_null(got, -1)).astype(np.int64)


def _ids_array(ids) -> pa_arrow.Array:
    arr = pa_arrow.array(ids, pa_arrow.string()) if not isinstance(ids, pa_arrow.Array) else ids
    if isinstance(arr, pa_arrow.ChunkedArray):
        arr = arr.combine_chunks()
    return arr


def _positions(ids: pd.Series, index: IdIndex) -> np.ndarray:
    return index.get_indexer(ids) if len(ids) else np.zeros(0, np.int64)


def cross_checks(tables: dict[str, TypedTable], raws: dict[str, RawTable],
                 problems: list[Problem], positions: dict | None = None) -> None:
    """Rules that look across tables. Each problem names the row that breaks the rule.

    ``positions``, when given, receives the id -> row lookups computed on the way
    (``(table, column, target, target_column) -> positions``), for the Ledger to reuse.
    """
    positions = {} if positions is None else positions
    customers = tables.get("customers")
    invoices = tables.get("invoices")
    cust_index = IdIndex(customers.frame["customer_id"] if customers else pd.Series([], dtype="str"))
    inv_index = IdIndex(invoices.frame["invoice_id"] if invoices else pd.Series([], dtype="str"))

    def coll(name):
        raw = raws[name]
        return _Collector(TABLES[name], raw.frame, raw.lines, raw.file, problems, raw.named)

    # rows whose amount or currency failed typing hold placeholders: balances built on them
    # are not judged (the cell itself was named), or a bad amount would also read as an
    # over-application of it
    unreadable_lines = {}
    for p in problems:
        if p.column in ("amount", "currency") and p.line is not None:
            unreadable_lines.setdefault(p.table, set()).add(p.line)

    def unreadable(name) -> np.ndarray:
        raw = raws[name]
        bad = unreadable_lines.get(name)
        if not bad:
            return np.zeros(len(raw.lines), bool)
        return np.isin(raw.lines, np.fromiter(bad, np.int64))

    # unknown customers ------------------------------------------------------
    for name in ("invoices", "credit_memos", "receipts", "activities", "financials", "bureau",
                 "trade_references", "customer_changes", "customers"):
        t = tables.get(name)
        if t is None or customers is None:
            continue
        col = "parent_id" if name == "customers" else "customer_id"
        if col not in t.frame:
            continue
        ids = t.frame[col]
        present = ids.notna().to_numpy() & (ids.fillna("") != "").to_numpy()
        pos = _positions(ids.fillna(""), cust_index)
        positions[(name, col, "customers", "customer_id")] = pos
        bad = present & (pos < 0)
        coll(name).add(bad, col, lambda i, ids=ids: f"unknown customer '{ids.iloc[i]}'")

    # unknown invoices -------------------------------------------------------
    for name in ("credit_memos", "applications", "disputes", "write_offs", "activities"):
        t = tables.get(name)
        if t is None or invoices is None or "invoice_id" not in t.frame:
            continue
        ids = t.frame["invoice_id"]
        present = ids.notna().to_numpy() & (ids.fillna("") != "").to_numpy()
        pos = _positions(ids.fillna(""), inv_index)
        positions[(name, "invoice_id", "invoices", "invoice_id")] = pos
        bad = present & (pos < 0)
        coll(name).add(bad, "invoice_id", lambda i, ids=ids: f"unknown invoice '{ids.iloc[i]}'")

    # customer of a credit memo matches the invoice's customer
    cms = tables.get("credit_memos")
    if cms is not None and invoices is not None and "invoice_id" in cms.frame:
        pos = _positions(cms.frame["invoice_id"].fillna(""), inv_index)
        has = pos >= 0
        inv_cust = np.where(has, invoices.frame["customer_id"].to_numpy(dtype=object)[np.maximum(pos, 0)], None)
        bad = has & (inv_cust != cms.frame["customer_id"].to_numpy(dtype=object))
        coll("credit_memos").add(bad, "customer_id", lambda i: (
            f"credit memo customer '{cms.frame['customer_id'].iloc[i]}' differs from invoice "
            f"customer '{inv_cust[i]}'"))

    # applications: receipts known, currencies agree, dates, over-application of receipts
    apps = tables.get("applications")
    receipts = tables.get("receipts")
    if apps is not None:
        if receipts is None:
            coll("applications").add(np.ones(len(apps.frame), bool), "receipt_id", lambda i: (
                f"unknown receipt '{apps.frame['receipt_id'].iloc[i]}' (no receipts table)"))
        else:
            rec_index = IdIndex(receipts.frame["receipt_id"])
            rpos = _positions(apps.frame["receipt_id"], rec_index)
            positions[("applications", "receipt_id", "receipts", "receipt_id")] = rpos
            coll("applications").add(rpos < 0, "receipt_id", lambda i: (
                f"unknown receipt '{apps.frame['receipt_id'].iloc[i]}'"))
            ok = rpos >= 0
            r_unreadable = unreadable("receipts")[np.maximum(rpos, 0)]
            r_date = receipts.frame["receipt_date"].to_numpy()[np.maximum(rpos, 0)]
            a_date = apps.frame["applied_date"].to_numpy()
            before = ok & (a_date < r_date)
            coll("applications").add(before, "applied_date", lambda i: (
                f"applied {_d(a_date[i])}, before its receipt dated {_d(r_date[i])}"))
            r_cur = receipts.frame["currency"].to_numpy(dtype=object)[np.maximum(rpos, 0)]
            a_cur = apps.frame["currency"].to_numpy(dtype=object)
            badcur = ok & (r_cur != a_cur) & pd.notna(r_cur) & pd.notna(a_cur)
            coll("applications").add(badcur, "currency", lambda i: (
                f"applies a {r_cur[i]} receipt to a {a_cur[i]} invoice"))
            # a receipt applied beyond its amount: the application that tips it over
            _over_applied(
                key=rpos, date=a_date, amount=apps.frame["amount_minor"].to_numpy(),
                cap=receipts.frame["amount_minor"].to_numpy(),
                valid=ok & ~r_unreadable & ~unreadable("applications"),
                on_fail=lambda rows, reach: coll("applications").add(rows, "amount", lambda i: (
                    f"over-applies receipt '{apps.frame['receipt_id'].iloc[i]}': applications "
                    f"reach {_money(reach[i], apps.frame['currency'].iloc[i])} of its "
                    f"{_money(receipts.frame['amount_minor'].iloc[rpos[i]], apps.frame['currency'].iloc[i])}")))

    # invoice balances: applications, credit memos and write-offs over time -------------
    if invoices is not None:
        _invoice_balance_checks(tables, inv_index, coll, unreadable)

    # disputes above the invoice amount
    disputes = tables.get("disputes")
    if disputes is not None and invoices is not None:
        pos = _positions(disputes.frame["invoice_id"], inv_index)
        ok = pos >= 0
        inv_amt = invoices.frame["amount_minor"].to_numpy()[np.maximum(pos, 0)]
        bad = ok & (disputes.frame["amount_minor"].to_numpy() > inv_amt)
        coll("disputes").add(bad, "amount", lambda i: (
            f"disputed amount {_amt(disputes.frame, i)} is above the invoice amount "
            f"{_money(inv_amt[i], disputes.frame['currency'].iloc[i])}"))

    # customer_changes: each value valid for its field, one value per customer, day and field
    changes = tables.get("customer_changes")
    if changes is not None and customers is not None and len(changes.frame):
        _customer_change_checks(changes, customers, positions.get(
            ("customer_changes", "customer_id", "customers", "customer_id")),
            coll("customer_changes"), problems)

    # reserve_gl: each period begins where the previous one ended
    gl = tables.get("reserve_gl")
    if gl is not None and len(gl.frame) > 1:
        order = np.argsort(gl.frame["period_end"].to_numpy(), kind="stable")
        beg = gl.frame["beginning_balance_minor"].to_numpy()[order]
        end = gl.frame["ending_balance_minor"].to_numpy()[order]
        brk = np.flatnonzero(beg[1:] != end[:-1]) + 1
        prev = {int(order[k]): int(order[k - 1]) for k in brk}
        coll("reserve_gl").add(order[brk], "beginning_balance", lambda i: (
            f"beginning balance {_amt(gl.frame, i, 'beginning_balance_minor')} does not equal "
            f"the previous period's ending balance "
            f"{_amt(gl.frame, prev[i], 'ending_balance_minor')} "
            f"({_d(gl.frame['period_end'].iloc[prev[i]])})"))


def _d(x) -> str:
    return str(np.datetime64(x, "D"))


def _money(minor, currency) -> str:
    return format_amount(int(minor), currency) if currency in MINOR_UNITS else str(minor)


def _amt(frame: pd.DataFrame, i: int, col: str = "amount_minor") -> str:
    cur = frame["currency"].iloc[i]
    v = frame[col].iloc[i]
    return format_amount(int(v), cur) if cur in MINOR_UNITS else str(v)


def _over_applied(key, date, amount, cap, valid, on_fail) -> None:
    """Flag rows at which the running total per key (in date order) exceeds ``cap[key]``."""
    idx = np.flatnonzero(valid)
    if len(idx) == 0:
        return
    order = idx[np.lexsort((idx, date[idx], key[idx]))]
    k = key[order]
    running = _grouped_cumsum(k, amount[order])
    over = running > cap[k]
    rows = order[over]
    reach = np.zeros(len(key), dtype=np.int64)
    reach[order] = running
    on_fail(rows, reach)


def _grouped_cumsum(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each new key (keys sorted), exact int64."""
    total = np.cumsum(values, dtype=np.int64)
    if len(keys) == 0:
        return total
    starts = np.r_[True, keys[1:] != keys[:-1]]
    group_start = np.maximum.accumulate(np.where(starts, np.arange(len(keys)), 0))
    base = (total - values)[group_start]
    return total - base


def _invoice_balance_checks(tables, inv_index, coll, unreadable=None) -> None:
    """Walk each invoice's reducing events in date order; flag the event that takes the
    open balance below zero (over-application, credit above balance, write-off above the
    open balance) and a recovery above what was written off.

    Same-day order: reinstatements (recoveries) first, then cash, credit memos, then
    write-offs, so that a same-day write-off of the remainder is accepted.
    """
    invoices = tables["invoices"]
    inv_amount = invoices.frame["amount_minor"].to_numpy()
    inv_unreadable = (unreadable("invoices") if unreadable is not None
                      else np.zeros(len(inv_amount), bool))
    inv_cur = invoices.frame["currency"].to_numpy(dtype=object)
    parts = []
    sources = (("write_offs", "date", 0, True), ("applications", "applied_date", 1, False),
               ("credit_memos", "date", 2, False), ("write_offs", "date", 3, False))
    for name, date_col, rank, recoveries in sources:
        t = tables.get(name)
        if t is None or "invoice_id" not in t.frame:
            continue
        pos = _positions(t.frame["invoice_id"].fillna(""), inv_index)
        amount = t.frame["amount_minor"].to_numpy()
        sel = (pos >= 0) & ~inv_unreadable[np.maximum(pos, 0)]
        if unreadable is not None:
            sel &= ~unreadable(name)
        if name == "write_offs":
            sel &= (amount < 0) if recoveries else (amount > 0)
        rows = np.flatnonzero(sel)
        if not len(rows):
            continue
        parts.append(pd.DataFrame({
            "inv": pos[rows], "date": t.frame[date_col].to_numpy()[rows], "rank": rank,
            "amount": amount[rows], "table": name, "row": rows,
            "currency": t.frame["currency"].to_numpy(dtype=object)[rows]}))
    if not parts:
        return
    ev = pd.concat(parts, ignore_index=True)
    # currencies must agree with the invoice's (applications, credit memos, write-offs)
    # (a row whose own currency could not be read was reported while typing)
    own_cur = ev["currency"].to_numpy(dtype=object)
    badcur = (own_cur != inv_cur[ev["inv"].to_numpy()]) & pd.notna(own_cur)
    for name, grp in ev[badcur & (ev["table"] != "applications").to_numpy()].groupby("table"):
        rows = grp["row"].to_numpy()
        ccy = inv_cur[grp["inv"].to_numpy()]
        own = grp["currency"].to_numpy(dtype=object)
        coll(name).add(rows, "currency", lambda i, m=dict(zip(rows, zip(own, ccy))): (
            f"currency {m[i][0]} differs from its invoice's ({m[i][1]})"))
    ev = ev.sort_values(["inv", "date", "rank", "row"], kind="stable").reset_index(drop=True)
    inv = ev["inv"].to_numpy()
    amt = ev["amount"].to_numpy()
    running = _grouped_cumsum(inv, amt)
    balance_after = inv_amount[inv] - running
    over = balance_after < 0
    # cumulative written off must stay >= 0 (a recovery cannot exceed the write-offs)
    is_wo = ev["table"].to_numpy() == "write_offs"
    wo_running = _grouped_cumsum(inv, np.where(is_wo, amt, 0))
    over_recovered = is_wo & (amt < 0) & (wo_running < 0)
    balance_before = balance_after + amt
    labels = {"applications": "over-applies invoice", "credit_memos": "credits invoice",
              "write_offs": "writes off invoice"}
    bad = ev[over | over_recovered]
    for name, grp in bad.groupby("table"):
        rows = grp["row"].to_numpy()
        info = dict(zip(rows, zip(grp.index.to_numpy(), grp["inv"].to_numpy())))

        def msg(i, info=info, name=name):
            k, p = info[i]
            cur = inv_cur[p]
            if over_recovered[k]:
                return (f"recovery of {format_amount(-int(amt[k]), cur)} exceeds what was "
                        f"written off on invoice '{inv_index[p]}'")
            if balance_before[k] < 0:
                return (f"{labels[name]} '{inv_index[p]}' by {format_amount(int(amt[k]), cur)}, "
                        f"which is already over-applied on {_d(ev['date'].iloc[k])}")
            return (f"{labels[name]} '{inv_index[p]}' beyond its open balance: "
                    f"{format_amount(int(amt[k]), cur)} against "
                    f"{format_amount(int(balance_before[k]), cur)} open on "
                    f"{_d(ev['date'].iloc[k])}")
        coll(name).add(rows, "amount", msg)


def _customer_change_checks(changes: TypedTable, customers: TypedTable, cpos: np.ndarray | None,
                            coll: _Collector, problems: list[Problem]) -> None:
    """The ``value`` of each ``customer_changes`` row, judged by its ``field``: a credit
    limit is an amount (>= 0) in the customer's currency, a status one of
    active/suspended/closed, payment terms a whole number of days (0 to 3650); and one
    customer, day and field may not hold two different values."""
    f = changes.frame
    n = len(f)
    if cpos is None:
        cpos = _positions(f["customer_id"].fillna(""), IdIndex(customers.frame["customer_id"]))
    # rows whose field, value or date failed typing were reported already
    lines = np.asarray(coll.lines, dtype=np.int64)
    typed_bad = [p.line for p in problems if p.table == "customer_changes"
                 and p.column in ("field", "value") and p.line is not None]
    skip = np.isin(lines, np.array(typed_bad, np.int64))
    field = f["field"].astype(object).fillna("").to_numpy(dtype=object)
    value = f["value"].astype(object).fillna("").to_numpy(dtype=object)
    known = (cpos >= 0) & ~skip
    # credit_limit: an exact amount in the customer's currency, never negative
    is_limit = known & (field == "credit_limit")
    if is_limit.any():
        idx = np.flatnonzero(is_limit)
        cur = customers.frame["currency"].to_numpy(dtype=object)[cpos[idx]]
        has_cur = np.array([c in MINOR_UNITS for c in cur], dtype=bool)
        idx, cur = idx[has_cur], cur[has_cur]
        digits = np.array([MINOR_UNITS[c] for c in cur], dtype=np.int64)
        minor, bad_fmt, too_many = parse_amount_array(
            pa_arrow.array(value[idx].tolist(), pa_arrow.string()), digits)
        msgs = {}
        for k, i in enumerate(idx):
            v = value[i]
            if bad_fmt[k]:
                msgs[i] = (f"credit_limit '{v}' is not a decimal amount in {cur[k]} (the "
                           f"customer's currency)")
            elif too_many[k]:
                msgs[i] = (f"credit_limit '{v}' has more decimals than {cur[k]} allows "
                           f"({digits[k]})")
            elif minor[k] < 0:
                msgs[i] = f"credit_limit '{v}' must be at least 0"
        coll.add(np.array(sorted(msgs), dtype=np.int64), "value", lambda i: msgs[i])
    # status: one of the customer statuses
    is_status = known & (field == "status")
    bad = is_status & ~np.isin(value, CUSTOMER_STATUS)
    coll.add(bad, "value", lambda i: (f"status '{value[i]}' is not one of "
                                      f"{', '.join(CUSTOMER_STATUS)}"))
    # payment terms: whole days
    is_terms = known & (field == "payment_terms_days")
    if is_terms.any():
        text = pd.Series(value, dtype=object)
        whole = text.str.fullmatch(r"[+-]?\d+").fillna(False).to_numpy(dtype=bool)
        days = np.where(whole, pd.to_numeric(text.where(whole, "0"), errors="coerce"), 0)
        coll.add(is_terms & ~whole, "value", lambda i: (
            f"payment_terms_days '{value[i]}' is not a whole number of days"))
        coll.add(is_terms & whole & ((days < 0) | (days > 3650)), "value", lambda i: (
            f"payment_terms_days '{value[i]}' must be between 0 and 3650"))
    # one value per (customer, effective date, field), among the rows otherwise valid
    bad_lines = {p.line for p in problems if p.table == "customer_changes"}
    skip = np.isin(lines, np.array([x for x in bad_lines if x is not None], np.int64))
    dates = f["effective_date"].to_numpy()
    frame = pd.DataFrame({"c": f["customer_id"].astype(object).to_numpy(), "d": dates,
                          "f": field, "v": value, "row": np.arange(n)})
    frame = frame[~skip & ~pd.isna(dates)]
    first_v = frame.groupby(["c", "d", "f"], sort=False)["v"].transform("first")
    first_row = frame.groupby(["c", "d", "f"], sort=False)["row"].transform("first")
    clash = frame[(frame["v"] != first_v).to_numpy()]
    if len(clash):
        other = dict(zip(clash["row"], first_row[clash.index]))
        coll.add(clash["row"].to_numpy(), "value", lambda i: (
            f"{field[i]} of customer '{frame.loc[frame['row'] == i, 'c'].iloc[0]}' on "
            f"{_d(dates[i])} is '{value[i]}' here but '{value[other[i]]}' on line "
            f"{int(lines[other[i]])}: one value per customer, date and field"))
