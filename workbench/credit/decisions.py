"""Credit decisions recorded (append-only, authority checked), the limit history, the review
queue, the credit file, the portfolio."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from ..ledger import Ledger, to_date
from ..money import format_amount, parse_amount
from .analysis import history_frame, in_customer_currency
from .features import FEATURES
from .policy import (
    DECISIONS,
    LEVELS,
    CreditPolicy,
    load_credit_policy,
)
from .recommendation import _to_report, recommendations


def record_decision(db, ledger: Ledger, recommendation: dict, decision: str, approver: str,
                    approver_level: str, reason: str, limit: str | None = None,
                    policy: CreditPolicy | None = None, idempotency_key: str | None = None) -> int:
    """Record a credit decision (append-only) with the policy version and ledger hash.

    ``approve`` takes the recommended limit; ``approve_other`` needs ``limit``; ``decline``
    sets no limit; ``hold`` keeps the current one. An approver below the level the limit
    needs is refused with a clear message. A second call with the same ``idempotency_key``
    (a double-click) returns the first decision's id and records nothing.
    """
    policy = policy or load_credit_policy(report_currency=ledger.report_currency)
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}; got {decision!r}")
    if approver_level not in LEVELS:
        raise ValueError(f"approver level must be one of {', '.join(LEVELS)}; got {approver_level!r}")
    if not reason or not reason.strip():
        raise ValueError("a decision needs a reason")
    if not approver or not approver.strip():
        raise ValueError("a decision needs the approver's name")
    cur = recommendation["currency"]
    if decision == "approve":
        limit_minor = recommendation["recommended_limit_minor"]
    elif decision == "approve_other":
        if not limit:
            raise ValueError("approve_other needs the limit approved")
        limit_minor = parse_amount(str(limit), cur)
        if limit_minor < 0:
            raise ValueError(f"limit must be >= 0; got {limit}")
    else:
        limit_minor = None
    if limit_minor is not None:
        policy = policy.for_ledger(ledger, recommendation["as_of"], [cur])
        report_minor = _to_report(ledger, limit_minor, cur, recommendation["as_of"], policy.report_currency)
        if not policy.can_approve(approver_level, report_minor):
            needed = policy.approver_for(report_minor)
            raise PermissionError(
                f"{approver} ({approver_level}) may not approve a limit of "
                f"{format_amount(limit_minor, cur, thousands=True)} {cur}: policy {policy.label} "
                f"requires {needed} or above")
    return db.append("credit_decisions", {
        "customer_id": recommendation["customer_id"], "decision": decision,
        "limit_minor": limit_minor, "currency": cur,
        "recommended_limit_minor": recommendation["recommended_limit_minor"],
        "reason": reason.strip(), "approver": approver, "approver_level": approver_level,
        "policy_version": policy.label, "ledger_hash": ledger.content_hash(),
        "idempotency_key": idempotency_key}, actor=approver)


def limit_history(db, customer_id: str) -> pd.DataFrame:
    """A customer's decisions, oldest first, with the limit in force after each."""
    rows = db.current("credit_decisions", customer_id=customer_id)
    df = pd.DataFrame(rows)
    if not len(df):
        return pd.DataFrame(columns=["recorded_at", "decision", "limit", "approver", "reason",
                                     "limit_in_force"])
    in_force, current = [], None
    for r in df.itertuples():
        if r.decision in ("approve", "approve_other"):
            current = format_amount(int(r.limit_minor), r.currency)
        elif r.decision == "decline":
            current = format_amount(0, r.currency)
        in_force.append(current)
    df["limit"] = [None if pd.isna(v) else format_amount(int(v), c) for v, c in zip(df["limit_minor"], df["currency"])]
    df["limit_in_force"] = in_force
    return df[["id", "recorded_at", "decision", "limit", "currency", "approver", "approver_level",
               "reason", "policy_version", "limit_in_force"]]


def review_queue(ledger: Ledger, as_of, db=None, policy: CreditPolicy | None = None,
                 top: int | None = None) -> pd.DataFrame:
    """Customers due for a credit review: never reviewed, review older than their class's
    frequency (neutral class when unscored), or exposure above the limit in force.

    The limit in force is the latest decision recorded in the state database (approved
    limit; a decline is 0), which the ERP has not necessarily posted yet, else the customer
    master's limit on the date; ``limit_source`` says which."""
    policy = policy or load_credit_policy(report_currency=ledger.report_currency)
    D = to_date(as_of)
    items = ledger.open_items(D)
    exposure = in_customer_currency(ledger, D, items, "open_minor")
    cust = ledger.customers.set_index("customer_id")
    limits = history_frame(ledger, D)["credit_limit_minor"]        # in force on the date
    last_review, decided = {}, {}
    if db is not None:
        for r in sorted(db.current("credit_decisions"), key=lambda r: r["id"]):
            last_review[r["customer_id"]] = max(last_review.get(r["customer_id"], ""), r["recorded_at"])
            if r["decision"] in ("approve", "approve_other"):
                decided[r["customer_id"]] = int(r["limit_minor"])
            elif r["decision"] == "decline":
                decided[r["customer_id"]] = 0
    rows = []
    months = policy.neutral_class().review_months
    for cid, exp in exposure.items():
        limit = limits.get(cid)
        limit = None if limit is None or pd.isna(limit) else int(limit)
        source = "customer master"
        if cid in decided:
            limit, source = decided[cid], "decided here"
        why = []
        if limit and exp > limit:
            why.append(f"exposure {exp / max(limit, 1):.0%} of the limit")
        lr = last_review.get(cid)
        if lr is None:
            why.append("never reviewed")
        elif pd.Timestamp(lr).tz_convert(None) < D - pd.DateOffset(months=months):
            why.append(f"last review {lr[:10]}")
        if why:
            rows.append({"customer_id": cid, "name": cust.at[cid, "name"],
                         "currency": cust.at[cid, "currency"], "exposure_minor": int(exp),
                         "credit_limit_minor": limit, "limit_source": source,
                         "utilization": None if not limit else round(exp / limit, 4),
                         "why": "; ".join(why)})
    out = pd.DataFrame(rows, columns=["customer_id", "name", "currency", "exposure_minor",
                                      "credit_limit_minor", "limit_source", "utilization", "why"])
    out = out.sort_values(["utilization", "exposure_minor"], ascending=False, na_position="last")
    return out.head(top).reset_index(drop=True) if top else out.reset_index(drop=True)


# =========================================================================== credit file

def credit_file_html(ledger: Ledger, recommendation: dict, history: pd.DataFrame | None = None) -> str:
    """The audit-ready credit file: inputs, ratios and trend, bureau and references, score
    and reason codes, recommendation with exceptions, decisions and approvals."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(Path(__file__).resolve().parent.parent / "templates")),
                      autoescape=select_autoescape(["html", "j2"]))
    a = recommendation["analysis"]
    cur = recommendation["currency"]

    def money(v):
        return "" if v is None else format_amount(int(v), cur, thousands=True)

    def num(v, digits=2):
        return "" if v is None else f"{v:,.{digits}f}"

    return env.get_template("credit_file.html.j2").render(
        r=recommendation, a=a, money=money, num=num,
        history=None if history is None or not len(history) else history.to_dict("records"),
        generated=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))


def save_scorecard(scorecard, path: str | Path, report: dict) -> Path:
    """Save a fitted scorecard with its evaluation (pickle; only load files you made)."""
    import pickle

    from ..io.writer import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            pickle.dump({"kind": "workbench-scorecard", "version": 1, "scorecard": scorecard,
                         "report": report, "features": list(FEATURES)}, f)
    return path


def load_scorecard(path: str | Path):
    import pickle

    with open(path, "rb") as f:
        obj = pickle.load(f)
    if not isinstance(obj, dict) or obj.get("kind") != "workbench-scorecard":
        raise ValueError(f"{path} is not a scorecard saved by 'workbench credit train'")
    if obj.get("features") != list(FEATURES):
        raise ValueError(f"{path} was trained on features {obj.get('features')}, this workbench "
                         f"computes {list(FEATURES)}: retrain")
    return obj["scorecard"]


def portfolio(ledger: Ledger, as_of, scorecard=None, policy: CreditPolicy | None = None,
              db=None) -> pd.DataFrame:
    """Every customer with open exposure: score, risk class, recommended limit, current
    limit, exposure, utilization, exceptions, due for review (:func:`recommendations`)."""
    policy = policy or load_credit_policy(report_currency=ledger.report_currency)
    D = ledger.require_data_by(as_of)
    ids = sorted(ledger.open_items(D)["customer_id"].unique())
    due = set(review_queue(ledger, D, db, policy)["customer_id"])
    r = recommendations(ledger, ids, D, scorecard, policy)
    out = r[["customer_id", "name", "currency", "score", "pd", "risk_class", "recommended_limit_minor",
             "credit_limit_minor", "exposure_minor", "utilization", "binding_rule",
             "approver_level"]].copy()
    out["exceptions"] = r["exceptions"].map(len)
    out["due_for_review"] = r["customer_id"].isin(due)
    return out


def html_to_pdf(html: str, path: str | Path, chromium: str = "/usr/bin/chromium") -> Path:
    """Render an HTML document to PDF with headless Chromium (Debian's package), atomically.
    Raises RuntimeError when Chromium is not installed or fails."""
    import shutil
    import subprocess
    import tempfile

    from ..io.writer import atomic_path

    exe = chromium if Path(chromium).exists() else shutil.which("chromium")
    if not exe:
        raise RuntimeError("PDF needs Chromium (apt-get install chromium); write .html instead")
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="wb-pdf-") as tmp:
        src = Path(tmp) / "file.html"
        src.write_text(html, encoding="utf-8")
        with atomic_path(path) as out:
            r = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                "--disable-background-networking", "--disable-component-update",
                                "--disable-sync", f"--user-data-dir={tmp}/profile",
                                f"--print-to-pdf={out}", "--no-pdf-header-footer", src.as_uri()],
                               capture_output=True, text=True, timeout=120)
            if r.returncode != 0 or not Path(out).exists() or Path(out).stat().st_size < 1000:
                raise RuntimeError(f"Chromium could not print the PDF: {r.stderr[-300:]}")
    return path
