"""Cash application on the mess of real payments: per bank format and per kind of payment.

    .venv/bin/python benchmarks/bench_cashapp_noise.py --invoices 40000 --json noise.json

Builds (or reuses, ``--ledger DIR``) a demo ledger, replays its cash from ``--replay-since``
(default: six months before the demo's end) with ``workbench.cashapp.replay_ledger``, and
writes the held receipts as the bank would send them: camt.053 (``Dbtr/Nm`` and ``Ustrd``),
BAI2 and MT940 with payer and remittance in one unlabelled free text
(``text_style="free"``). camt.053 and MT940 hold one statement per currency and month, BAI2
one file per currency and day (a BAI2 group has one as-of date); balances run on from
statement to statement. Each format is imported with ``workbench.io.bank.read_statements``
+ ``statements_receipts``, matched with ``workbench.cashapp.match_receipts`` against the
replayed ledger and scored with ``workbench.cashapp.evaluate`` against the demo's truth;
the held receipts as the ledger holds them (lockbox customer ids included, no file) are
scored the same way as the reference.

Printed per format, for all receipts, each truth ``kind`` and ``shared_name`` True/False:
receipts; matchable receipts (at least one true application); the share of the matchable
auto-applied; the precision of auto-applied receipts (exactly the true invoices and
amounts); wrong cash (auto-applied beyond what the receipt truly paid the invoice). Then
seconds per phase and peak RSS. A format the importer refuses is reported and skipped.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workbench.cashapp import evaluate, match_receipts, replay_ledger
from workbench.demo import DemoConfig, write_demo
from workbench.io.bank import StatementError, read_statements, statements_receipts
from workbench.io.bank_writers import write_statements
from workbench.ledger import Ledger
from workbench.money import parse_amount

FORMATS = ("camt053", "bai2_free", "mt940_free")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def read_truth(folder: Path, name: str) -> pd.DataFrame:
    path = folder / "truth" / f"{name}.parquet"
    if path.exists():
        return pd.read_parquet(path)
    return pd.read_csv(folder / "truth" / f"{name}.csv", dtype=str, keep_default_na=False)


def _wrong_cash(ev: dict) -> str:
    return "; ".join(f"{c} {v}" for c, v in ev["wrong_cash"].items() if v not in ("0", "0.00")) or "0"


def score(apps: pd.DataFrame, receipts: pd.DataFrame, truth: pd.DataFrame,
          groups: dict[str, pd.Series]) -> list[dict]:
    """Per group of receipts (a boolean mask over ``receipts``): the figures of the report."""
    matchable_ids = set(truth["receipt_id"])
    auto_ids = set(apps.loc[apps["status"] == "auto", "receipt_id"])
    rows = []
    for name, mask in groups.items():
        rec = receipts[mask.to_numpy()]
        if not len(rec):
            continue
        ids = set(rec["receipt_id"])
        matchable = ids & matchable_ids
        mine = apps[apps["receipt_id"].isin(ids)]
        if (mine["status"] == "auto").any():
            ev = evaluate(mine, rec, truth)
        else:       # nothing auto-applied (evaluate needs at least one auto line)
            ev = {"auto_receipts": 0, "auto_correct": 0, "precision": None, "wrong_cash": {}}
        auto_m = len(matchable & auto_ids)
        rows.append({"group": name, "receipts": len(rec), "matchable": len(matchable),
                     "auto_matchable": auto_m,
                     "auto_share": round(auto_m / len(matchable), 4) if matchable else None,
                     "auto_receipts": ev["auto_receipts"], "auto_correct": ev["auto_correct"],
                     "precision": ev["precision"], "wrong_cash": ev["wrong_cash"],
                     "wrong_cash_text": _wrong_cash(ev)})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--invoices", type=int, default=40_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--ledger", type=Path, help="reuse a demo ledger folder (with truth/)")
    ap.add_argument("--replay-since", help="ISO date; default six months before the demo's end")
    ap.add_argument("--formats", default=",".join(FORMATS),
                    help=f"comma-separated, of {', '.join(FORMATS)}")
    ap.add_argument("--keep-files", type=Path, help="write the bank files here and keep them")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    formats = [f for f in args.formats.split(",") if f]
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        ap.error(f"unknown formats {unknown}; choose from {', '.join(FORMATS)}")
    out: dict = {"seconds": {}}
    t_all = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="wb-bench-noise-") as tmp:
        folder = args.ledger
        if folder is None:
            folder = Path(tmp) / "demo"
            t0 = time.perf_counter()
            write_demo(folder, DemoConfig(invoices=args.invoices, seed=args.seed), fmt="parquet")
            out["seconds"]["generate"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        ledger = Ledger.load(folder)
        out["seconds"]["load"] = round(time.perf_counter() - t0, 1)
        end = ledger.receipts["receipt_date"].max()
        since = args.replay_since or str((end - pd.DateOffset(months=6)).date())
        replay, held = replay_ledger(ledger, since)
        truth = read_truth(folder, "applications")
        truth = truth[truth["receipt_id"].isin(held["receipt_id"])].copy()
        truth["amount_minor"] = [parse_amount(str(a), c) for a, c in
                                 zip(truth["amount"], truth["currency"])]
        kinds = read_truth(folder, "receipts").set_index("receipt_id")
        kind_of = kinds["kind"].astype(str)
        shared_of = kinds["shared_name"].astype(str) == "True"
        out.update({"ledger": str(folder), "replay_since": since, "held_receipts": len(held),
                    "open_invoices": len(replay.open_items(end, customer_columns=())),
                    "kinds": {k: int(v) for k, v in
                              kind_of.reindex(held["receipt_id"]).value_counts().items()},
                    "formats": {}})
        print(f"demo {folder}: {len(held):,} receipts from {since} replayed against "
              f"{out['open_invoices']:,} open invoices")
        files_root = args.keep_files or Path(tmp) / "bank"
        for fmt in ["ledger", *formats]:
            res: dict = {"seconds": {}}
            out["formats"][fmt] = res
            t0 = time.perf_counter()
            if fmt == "ledger":
                receipts = held
            else:
                files = write_statements(held, fmt, files_root / fmt)
                res["seconds"]["write"] = round(time.perf_counter() - t0, 1)
                res["files"] = len(files)
                t0 = time.perf_counter()
                try:
                    receipts, skipped = statements_receipts(read_statements(files))
                except StatementError as e:
                    res["error"] = str(e)
                    print(f"\n{fmt}: the importer refused the files: {e}")
                    continue
                res["seconds"]["import"] = round(time.perf_counter() - t0, 1)
                res["duplicates_skipped"] = skipped
                lost = sorted(set(held["receipt_id"]) - set(receipts["receipt_id"]))
                res["receipts_not_imported"] = len(lost)
                same = receipts.set_index("receipt_id")["amount_minor"].reindex(held["receipt_id"])
                res["amounts_differ"] = int((same.to_numpy() != held["amount_minor"].to_numpy()).sum())
            t0 = time.perf_counter()
            apps, _, _ = match_receipts(replay, receipts)
            res["seconds"]["match"] = round(time.perf_counter() - t0, 1)
            res["receipts_per_s"] = round(len(receipts) / max(res["seconds"]["match"], 1e-9))
            t0 = time.perf_counter()
            kind = receipts["receipt_id"].map(kind_of).fillna("?")
            shared = receipts["receipt_id"].map(shared_of).fillna(False).astype(bool)
            groups = {"all": pd.Series(True, index=receipts.index)}
            groups.update({k: kind == k for k in sorted(kind.unique())})
            groups.update({"shared_name=True": shared, "shared_name=False": ~shared})
            res["groups"] = score(apps, receipts, truth, groups)
            res["seconds"]["evaluate"] = round(time.perf_counter() - t0, 1)
            print_format(fmt, res)
    out["seconds"]["total"] = round(time.perf_counter() - t_all, 1)
    out["peak_mb"] = round(peak_mb())
    print(f"\ntotal {out['seconds']['total']} s, peak RSS {out['peak_mb']} MB")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=str) + "\n")
    return 0


def print_format(fmt: str, res: dict) -> None:
    extra = ""
    if "files" in res:
        extra = (f"; {res['files']} files, {res['receipts_not_imported']} receipts not imported, "
                 f"{res['amounts_differ']} amounts differ")
    secs = ", ".join(f"{k} {v} s" for k, v in res["seconds"].items())
    print(f"\n== {fmt} ({secs}{extra})")
    print(f"{'group':<22}{'receipts':>9}{'matchable':>10}{'auto %':>8}{'precision %':>12}  wrong cash")
    for g in res["groups"]:
        auto = f"{100 * g['auto_share']:.1f}" if g["auto_share"] is not None else "-"
        prec = f"{100 * g['precision']:.2f}" if g["precision"] is not None else "-"
        print(f"{g['group']:<22}{g['receipts']:>9,}{g['matchable']:>10,}{auto:>8}{prec:>12}  "
              f"{g['wrong_cash_text']}")


if __name__ == "__main__":
    raise SystemExit(main())
