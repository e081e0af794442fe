"""The cash-application runs the review page reads: their matches as lines with a status
(pending, posted, rejected) and the cash still unapplied against the posting SLA."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..money import format_amount, parse_amount


__all__ = ["list_runs", "read_run", "match_lines", "unapplied_cash"]

PENDING, POSTED, REJECTED = "pending", "posted", "rejected"


def _base(receipt_id) -> str:
    return str(receipt_id).split("~", 1)[0]


def _short(text, n: int) -> str:
    text = str(text)
    return text if len(text) <= n else text[:n - 1] + "…"


def list_runs(runs_dir) -> list[Path]:
    """The run folders under ``runs_dir`` (those with a summary.json), newest summary first."""
    d = Path(runs_dir)
    if not d.is_dir():
        return []
    runs = [p for p in d.iterdir() if (p / "summary.json").is_file()]
    return sorted(runs, key=lambda p: ((p / "summary.json").stat().st_mtime_ns, p.name), reverse=True)


def _minor(frame: pd.DataFrame, col: str = "amount") -> list[int]:
    return [parse_amount(a, c) for a, c in zip(frame[col], frame["currency"])]


def read_run(run_dir: Path) -> dict:
    """A run's files: summary, application lines, receipts (amounts in minor units) and the
    posting SLA of the run's policy."""
    import json

    from ..cashapp.policy import load_cashapp_policy

    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    apps = pd.read_csv(run_dir / "applications.csv", dtype=str, keep_default_na=False)
    apps = apps[apps["status"].isin(["auto", "suggested"])].reset_index(drop=True)
    apps["amount_minor"] = _minor(apps)
    rec = pd.read_csv(run_dir / "receipts.csv", dtype=str, keep_default_na=False)
    rec["amount_minor"] = _minor(rec)
    try:
        policy = load_cashapp_policy(summary.get("policy_source") or "cashapp",
                                     summary.get("auto_post_threshold"))
    except Exception:  # noqa: BLE001 - the policy file moved: the packaged policy's SLA
        policy = load_cashapp_policy()
    return {"dir": run_dir, "summary": summary, "as_of": summary["as_of"], "apps": apps,
            "receipts": rec, "sla": int(policy.posting_sla_business_days),
            "policy": policy.label}


def match_lines(apps: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
    """Each proposed line with its state in the state database: ``posted`` (with who, when),
    ``rejected`` (who, when, why) or ``pending``; plus the manual lines posted for the run's
    receipts (rule manual). Only rows with status posted are cash."""
    receipts = {_base(r) for r in apps["receipt_id"]}
    posted, rejected, manual = {}, {}, []
    for r in rows:
        pair = (_base(r["receipt_id"]), r["invoice_id"])
        if pair[0] not in receipts:
            continue
        if r["status"] == "posted":
            posted.setdefault(pair, r)
            if r["rule"] == "manual":
                manual.append(r)
        elif r["status"] == "rejected":
            rejected.setdefault(pair, r)
    out = apps.copy()
    state, by, at, why = [], [], [], []
    for rid, iid in zip(out["receipt_id"], out["invoice_id"]):
        p = posted.get((_base(rid), iid)) or rejected.get((_base(rid), iid))
        state.append(PENDING if p is None else p["status"])
        by.append("" if p is None else p["approved_by"])
        at.append("" if p is None else p["recorded_at"])
        why.append("" if p is None else (p["correction_reason"] or ""))
    out = out.assign(state=state, by=by, at=at, note=why)
    lines = set(zip(out["receipt_id"].map(_base), out["invoice_id"]))
    extra = [{"receipt_id": r["receipt_id"], "invoice_id": r["invoice_id"],
              "amount": format_amount(int(r["amount_minor"]), r["currency"]), "status": "manual",
              "rule": "manual", "confidence": "", "reason": "", "currency": r["currency"],
              "amount_minor": int(r["amount_minor"]), "state": POSTED, "by": r["approved_by"],
              "at": r["recorded_at"], "note": r["correction_reason"] or ""}
             for r in manual if (_base(r["receipt_id"]), r["invoice_id"]) not in lines]
    if extra:
        out = pd.concat([out, pd.DataFrame(extra)], ignore_index=True)
    return out


def unapplied_cash(receipts: pd.DataFrame, lines: pd.DataFrame, as_of: str, sla: int) -> pd.DataFrame:
    """Cash of the run still unapplied: each receipt's amount less what is posted of it
    and its auto lines still to post (the run counts those as applied; a rejected auto
    line is not). Age in business days from the receipt date to the run's as-of date
    (``numpy.busday_count``, Monday to Friday), over the SLA when age > SLA."""
    is_posted = lines["state"] == POSTED
    pending = lines["state"] == PENDING
    by = lambda m: lines[m].groupby(lines["receipt_id"].map(_base))["amount_minor"].sum()  # noqa: E731
    posted = by(is_posted)
    auto_left = by(pending & (lines["status"] == "auto"))
    waiting = by(pending & (lines["status"] == "suggested"))
    base = receipts["receipt_id"].map(_base)
    out = receipts.copy()
    take = lambda s: base.map(s).fillna(0).astype(np.int64).to_numpy()  # noqa: E731
    out["posted_minor"] = take(posted)
    out["unapplied_minor"] = out["amount_minor"] - out["posted_minor"] - take(auto_left)
    out["waiting_minor"] = take(waiting)
    out = out[out["unapplied_minor"] > 0].copy()
    start = pd.to_datetime(out["receipt_date"]).to_numpy().astype("datetime64[D]")
    out["age"] = np.busday_count(start, np.datetime64(as_of, "D")) if len(out) else []
    out["over_sla"] = out["age"] > sla
    return out.sort_values(["age", "receipt_id"], ascending=[False, True]).reset_index(drop=True)


