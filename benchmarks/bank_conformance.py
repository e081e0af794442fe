"""Bank statement conformance: the importer against other parsers' own test files.

    .venv/bin/python benchmarks/bank_conformance.py [DIR] [--json PATH] [--root REPO]

Imports every statement file under DIR (default ``../shared/bank_samples`` from the repo
root; ``expected/``, ``SOURCES.md`` and other docs are skipped) with
``workbench.io.bank.read_statement`` and sorts each file into one outcome:

* ``checked``          imported, and the source project's expected values agree
* ``no-expected``      imported, the source project ships no expected values for it
* ``disagrees``        imported, but a figure differs from the expected values
* ``refused-true``     refused (StatementError) and it is truly not an importable statement
* ``refused-wrongly``  a complete, valid statement that the importer refused
* ``imported-wrongly`` a file that should be refused (``SHOULD_REFUSE``) but was imported
* ``crashed``          any exception other than StatementError

Which files should be refused is a judgement recorded in ``SHOULD_REFUSE`` below, one
reason per file; ``EITHER`` lists the judgement calls where both outcomes are right. A
"true" refusal only says the file is bad and was refused: read the message column to see
whether the importer named the real reason. An independent reader in this script (small regex / ElementTree readers,
used only to classify and never to import) ties every statement itself: MT940 and camt
``opening + credits - debits == closing`` per statement, BAI2 the account / group / file
control totals (and the 010/015 ledger balances where both are given); the verdict is the
"ties (independent)" column.

Expected values compared (summed over all statements of the file, per currency):
number of booked entries == ``sum(Statement.entries)``, credit sum == ``sum(credits_minor)``
(the importer's receipts), debit sum == ``sum(debits_minor)``. WoLpH/mt940 ``.yml`` goldens
merge every statement of a file into one object, so their balances are compared only for a
file with a single statement (``final_opening_balance`` / ``final_closing_balance``).
genkgo/camt ``.json`` dumps list the message's entries keyed by their index within a record,
so a file with several records keeps only the last record's entries there: for those only
the number of statements is compared. Only the attributes of the stable importer API are
used, so the same script runs against older code for "before" figures.

Exit status is always 0 (a report). Prints elapsed seconds and peak RSS at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sys
import time
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT.parent / "shared" / "bank_samples"
FORMATS = ("camt053", "bai2", "mt940")
SKIP_NAMES = {"SOURCES.md", "README.md", "README", "LICENSE", "NOTICE"}
SKIP_SUFFIXES = {".md", ".rst", ".yml", ".yaml", ".json"}

# --------------------------------------------------------------------------- judgement
#: Files a correct importer must refuse, and the true reason. Everything else under DIR is
#: a complete statement that should import (odd but complete: bank envelopes {1:..}{4:..},
#: ABN AMRO / ING / Rabobank headers, missing CRLF, binary characters, Latin-1 / cp852
#: text, empty :86:, wrapped lines, :NS: fields, several statements in one file).
SHOULD_REFUSE: dict[str, str] = {
    # ---- camt (genkgo/camt test/data) ------------------------------------------------
    # camt.052 account report (BkToCstmrAcctRpt), not a statement
    "camt053/genkgo-camt/camt052.v2.xml": "camt.052 account report, not a statement",
    # camt.054 debit/credit notification (BkToCstmrDbtCdtNtfctn), not a statement
    "camt053/genkgo-camt/camt054.v2.xml": "camt.054 notification, not a statement",
    # genkgo EndToEndTest::testWrongDocument expects InvalidMessageException: GrpHdr, no Stmt
    "camt053/genkgo-camt/camt053.v2.wrong.xml": "source project's negative test: no Stmt",
    # genkgo checks only date parsing here: one OPBD, no CLBD, no entries
    "camt053/genkgo-camt/camt53.only-Dt-with-DtTm.xml":
        "fragment: opening balance only, no closing balance",
    # the only balance is CLAV 27 JPY DBIT; no OPBD/CLBD to tie the EUR entry to
    "camt053/genkgo-camt/camt053.v2.with-account-name.xml":
        "fragment: no opening/closing booked balance (only CLAV in JPY)",
    # genkgo's field-mapping fixture: OPBD 18.15 EUR CRDT + 8.85 credit, but CLBD 27.00 SEK
    # DBIT (genkgo's testBalance asserts exactly these mismatched balances)
    "camt053/genkgo-camt/camt053.v2.minimal.xml":
        "balances do not tie: OPBD 18.15 EUR + 8.85 != CLBD -27.00 SEK",
    "camt053/genkgo-camt/camt053.v2.minimal.ultimate.xml":
        "balances do not tie: OPBD 18.15 EUR + 8.85 != CLBD -27.00 SEK",
    "camt053/genkgo-camt/camt053.v2.with-party-ids.xml":
        "balances do not tie: OPBD 18.15 EUR + 8.85 != CLBD -27.00 SEK",
    "camt053/genkgo-camt/camt053.v3.xml":
        "balances do not tie: OPBD 18.15 EUR + 8.85 != CLBD -27.00 SEK",
    "camt053/genkgo-camt/camt053.v4.xml":
        "balances do not tie: OPBD 18.15 EUR + 8.85 != CLBD -27.00 SEK",
    "camt053/genkgo-camt/camt053.v8.xml":
        "balances do not tie: OPBD 18.15 EUR + 8.85 != CLBD -27.00 SEK",
    # one balance of each of 10 types with made-up amounts: OPBD 1.01 + 8.85 != CLBD 4.04
    "camt053/genkgo-camt/camt053.v2.all-balance-types.xml":
        "balances do not tie: OPBD 1.01 + 8.85 != CLBD 4.04",
    # amounts written with three decimals (8.850) are fine for EUR, but 18.15 + 8.85 != 27.05
    "camt053/genkgo-camt/camt053.v2.five.decimals.xml":
        "balances do not tie: OPBD 18.150 + 8.850 != CLBD 27.050",
    # ---- BAI2 ------------------------------------------------------------------------
    # moov-io test/testdata/errors/: the handlers' parse-error fixture (one 00 record, no 01)
    "bai2/moov-io-bai2/sample-parseError.txt":
        "source project's negative test: a lone '00' record, no file",
    # Goldman Sachs export edited by hand: account trailers do not match their accounts
    # (49 of 107049932 declares -1260161341762 for amounts summing to 7999960)
    "bai2/moov-io-bai2/sample4-continuations-newline-delimited.txt":
        "control totals do not tie: 49 of 107049932 -1260161341762 != 7999960",
    "bai2/moov-io-bai2/sample5-issue113.txt":
        "control totals do not tie: 49 of 107049932 -1260161341762 != 7999960",
    # 010 opening ledger 100.00, one 191 credit of 0.01, 015 closing ledger 100.00
    # (trailers tie; the ledger balances do not)
    "bai2/ministryofjustice-bai2/citi_example.bai2":
        "ledger balances do not tie: 010 100.00 + 0.01 != 015 100.00",
    # ---- MT940 (WoLpH/mt940 mt940_tests) ---------------------------------------------
    # one-tag snippets WoLpH uses to test a single tag's regex: no statement around them
    "mt940/WoLpH-mt940/betterplace__amount_formats.sta": "fragment: :60F: lines only",
    "mt940/WoLpH-mt940/betterplace__currency_in_25.sta": "fragment: a :25: line only",
    "mt940/WoLpH-mt940/betterplace__empty_86.sta": "fragment: an :86: line only",
    "mt940/WoLpH-mt940/betterplace__empty_entry_date.sta": "fragment: a :61: line only",
    "mt940/WoLpH-mt940/betterplace__empty_line.sta": "fragment: a :20: line only",
    "mt940/WoLpH-mt940/betterplace__missing_crlf_at_end.sta": "fragment: a :62F: line only",
    "mt940/WoLpH-mt940/cmxl__account_balance_credit.sta": "fragment: a :60F: line only",
    "mt940/WoLpH-mt940/cmxl__account_balance_debit.sta": "fragment: a :60F: line only",
    "mt940/WoLpH-mt940/cmxl__account_identification_iban.sta": "fragment: a :25: line only",
    "mt940/WoLpH-mt940/cmxl__account_identification_legacy.sta": "fragment: a :25: line only",
    "mt940/WoLpH-mt940/cmxl__available_balance.sta": "fragment: a :64: line only",
    "mt940/WoLpH-mt940/cmxl__closing_balance.sta": "fragment: a :62F: line only",
    "mt940/WoLpH-mt940/cmxl__reference.sta": "fragment: a :20: line only",
    "mt940/WoLpH-mt940/cmxl__statement_details.sta": "fragment: :61: + :86: only",
    "mt940/WoLpH-mt940/cmxl__statement_line.sta": "fragment: a :61: line only",
    "mt940/WoLpH-mt940/cmxl__statement_number.sta": "fragment: a :28C: line only",
    "mt940/WoLpH-mt940/self-provided__empty_non_swift.sta": "fragment: an empty :NS: only",
    # WoLpH's :61: regex allows a newline between mark and amount for this; still only a
    # :61: and a broken ':\n86:' line, no :20:/:25:/:60F:/:62F:
    "mt940/WoLpH-mt940/self-provided__sparkassen.sta":
        "fragment: a :61: (amount wrapped) and a broken :86: only",
    # WoLpH's golden for it is an empty Transactions: lines "1".."10", not MT940 at all
    "mt940/WoLpH-mt940/self-provided__invalid_statement.sta": "not MT940: lines 1 to 10",
    # a :25: line where the entry's :86: should be; 766656.49 + 50990.05 != 1125250.40
    "mt940/WoLpH-mt940/betterplace__sepa_snippet_broken.sta":
        "broken snippet: :25: inside the entry, balances do not tie",
    # interim transaction reports: :34F: floor limit, :13D:, :90D:/:90C:, no :60F:/:62F:
    "mt940/WoLpH-mt940/mBank__mt942.sta": "MT942 interim report, not a statement",
    "mt940/WoLpH-mt940/self-provided__mt942.sta": "MT942 interim report, not a statement",
    # :60F: and two :61: lines, then the file ends: no closing balance
    "mt940/WoLpH-mt940/self-provided__gv_codes.sta": "fragment: no :62F: closing balance",
    # all three closing balances lack the currency (:62F:C020315145000,00)
    "mt940/WoLpH-mt940/self-provided__raphaelm.sta":
        "malformed :62M:/:62F: balances without currency code",
    # hand-made :86: parsing fixtures on one template: 12345.12 - 233.15 != 12345.98
    "mt940/WoLpH-mt940/self-provided__details_60-63.sta":
        "balances do not tie: 12345.12 - 233.15 != 12345.98",
    "mt940/WoLpH-mt940/self-provided__malformed_details.sta":
        "balances do not tie: 12345.12 - 233.15 != 12345.98",
    "mt940/WoLpH-mt940/self-provided__overly_long_details.sta":
        "balances do not tie: 12345.12 - 233.15 != 12345.98",
    "mt940/WoLpH-mt940/self-provided__whitespace.sta":
        "balances do not tie: 12345.12 - 233.15 != 12345.98",
    # anonymised bank files whose balances no longer tie (the independent check prints them)
    "mt940/WoLpH-mt940/jejik__abnamro.sta":
        "balances do not tie: 3236.28 - 321.44 != 876.84; 2nd statement too",
    "mt940/WoLpH-mt940/jejik__ing.sta": "balances do not tie: 0.00 - 50.27 + 4.68 != 3.47",
    "mt940/WoLpH-mt940/jejik__knab.sta":
        "balances do not tie (2nd): 3058.98 - 7260 + 500 != 798.98",
    "mt940/WoLpH-mt940/jejik__postfinance.sta":
        "balances do not tie (2nd): 229.20 - 79.90 + 10.10 != 159.60",
    "mt940/WoLpH-mt940/jejik__rabobank.sta":
        "balances do not tie (1st, 3rd): 473.17 - 1213.28 != 395.82",
    "mt940/WoLpH-mt940/jejik__triodos.sta":
        "balances do not tie: 4975.09 - 715.70 != 4370.79",
    "mt940/WoLpH-mt940/betterplace__sepa_snippet.sta":
        "balances do not tie (2nd): -1970431.87 - 2501917.30 != -4472049.09",
    "mt940/WoLpH-mt940/mBank__with_newline_in_tnr.sta":
        "balances do not tie: 0.46 + 89.00 != 860.17",
    "mt940/WoLpH-mt940/self-provided__raiffeisen-cmi.sta":
        "balances do not tie: 25170637.10 - 1012213.50 != 25281687.60",
}

#: Judgement calls where importing and refusing (StatementError) are both right: counted
#: as imported (checked / no-expected / disagrees) or as "refused with a true reason".
EITHER: dict[str, str] = {
    # three statements that tie (DEM, EUR, PLN); the first is in Deutsche Mark, withdrawn in
    # 2002 and not in the ISO 4217 active list workbench.money knows: refusing the whole file
    # for it is right, and so is importing it with DEM's old two decimals
    "mt940/WoLpH-mt940/cmxl__mt940.sta": "1st statement in DEM (withdrawn 2002)",
}

# --------------------------------------------------------------------------- helpers

def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


#: minor-unit digits for currencies ISO 4217 no longer lists (expected values only)
_HISTORIC_DIGITS = {"DEM": 2, "FRF": 2, "NLG": 2, "ITL": 0, "ESP": 0, "BEF": 0, "ATS": 2}


def digits_of(currency: str) -> int:
    try:
        from workbench.money import minor_units
        return minor_units(currency)
    except Exception:  # noqa: BLE001 - unknown or historic code: ISO's old digits, else 2
        return _HISTORIC_DIGITS.get(currency, 2)


def to_minor(value: Decimal, currency: str) -> int:
    return int(value.scaleb(digits_of(currency)))    # goldens carry whole minor units


def first_line(text: str, limit: int = 240) -> str:
    s = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return s[:limit]


def short(text: str, limit: int = 120) -> str:
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


# --------------------------------------------------------------------------- expected values

def _yaml_loader():
    import yaml

    class PythonTagsSafeLoader(yaml.SafeLoader):
        """SafeLoader that turns !!python/... tags into plain data (never runs code)."""

    def construct_object(loader, suffix, node):
        data: dict = {"__class__": suffix.split(":", 1)[-1]}
        yield data                                   # yield first: anchors may recurse
        data.update(loader.construct_mapping(node, deep=True))

    def construct_python(loader, suffix, node):
        if suffix == "object/apply:decimal.Decimal":
            args = (loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode)
                    else loader.construct_mapping(node, deep=True).get("args", []))
            return Decimal(str(args[0])) if args else None
        if suffix == "object/apply:mt940.models.Date":
            args = (loader.construct_sequence(node, deep=True)
                    if isinstance(node, yaml.SequenceNode) else [])
            raw = args[0] if args else None
            if isinstance(raw, (bytes, bytearray)) and len(raw) >= 4:  # pickled date state
                return f"{raw[0] * 256 + raw[1]:04d}-{raw[2]:02d}-{raw[3]:02d}"
            return None
        if suffix.startswith(("name:", "object/apply:re.")):
            return None
        if isinstance(node, yaml.MappingNode):
            return construct_object(loader, suffix, node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)

    PythonTagsSafeLoader.add_multi_constructor("tag:yaml.org,2002:python/", construct_python)
    return PythonTagsSafeLoader


def _amount_of(obj) -> tuple[Decimal, str] | None:
    """(signed amount, currency) of an mt940 Amount / Balance dict."""
    if not isinstance(obj, dict):
        return None
    if "amount" in obj and isinstance(obj["amount"], dict):      # Balance -> Amount
        return _amount_of(obj["amount"])
    if isinstance(obj.get("amount"), Decimal):
        return obj["amount"], str(obj.get("currency") or "")
    return None


def expected_wolph(path: Path) -> dict:
    import yaml

    with open(path, encoding="utf-8") as fh:
        doc = yaml.load(fh, Loader=_yaml_loader())  # a SafeLoader subclass: no code runs
    data = doc.get("data") or {}
    tx = doc.get("transactions") or []
    per_cur: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    reversals: dict[str, int] = defaultdict(int)
    n = without = 0
    for t in tx:
        a = _amount_of((t or {}).get("data", {}).get("amount"))
        if a is None:
            without += 1
            continue
        amount, cur = a
        cur = cur or str((t.get("data") or {}).get("currency") or "")
        n += 1
        m = to_minor(amount, cur)
        if str((t.get("data") or {}).get("status", "")).startswith("R"):
            reversals[cur] += abs(m)
        if m >= 0:
            per_cur[cur][0] += m
        else:
            per_cur[cur][1] += -m
    out = {"source": "WoLpH-mt940", "entries": n, "entries_without_amount": without,
           "per_currency": {c: {"credits": v[0], "debits": v[1]} for c, v in per_cur.items()},
           "reversals": dict(reversals)}
    for key in ("final_opening_balance", "final_closing_balance"):
        a = _amount_of(data.get(key))
        if a is not None:
            out[key] = to_minor(a[0], a[1])
    return out


def expected_genkgo(path: Path) -> dict:
    doc = json.loads(path.read_text(encoding="utf-8"))
    records = doc.get("getRecords") or []
    per_cur: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    n = 0
    entries = doc.get("getEntries") or []
    if isinstance(entries, dict):
        entries = list(entries.values())
    for e in entries:
        if not isinstance(e, dict):
            continue
        amt = e.get("getAmount") or {}
        minor = int(str(amt.get("getAmount")))
        cur = ((amt.get("getCurrency") or {}).get("getCode")) or ""
        n += 1
        if minor >= 0:
            per_cur[cur][0] += minor
        else:
            per_cur[cur][1] += -minor
    out = {"source": "genkgo-camt", "statements": len(records), "entries": n,
           "per_currency": {c: {"credits": v[0], "debits": v[1]} for c, v in per_cur.items()}}
    if len(records) > 1:
        out["entries_partial"] = (f"dump lists {n} entr{'y' if n == 1 else 'ies'} for "
                                  f"{len(records)} records (genkgo's Dumper keys entries by "
                                  "index within a record)")
    return out


def load_expected(root: Path, source: str, name: str) -> dict | None:
    base = root / "expected" / source
    for suffix, fn in ((".yml", expected_wolph), (".yaml", expected_wolph), (".json", expected_genkgo)):
        p = base / (name + suffix)
        if p.exists():
            try:
                return fn(p)
            except Exception as e:  # noqa: BLE001 - a bad golden is reported, not fatal
                return {"source": source, "error": f"{type(e).__name__}: {first_line(e)}"}
    return None


# --------------------------------------------------------------------------- independent MT940
_TAG = re.compile(r"^:(\d\d[A-Z]?|NS):", re.MULTILINE)
_BAL = re.compile(r"^([CD])(\d{6})([A-Z]{3})(\d[\d,]*)")
_LINE61 = re.compile(r"^(\d{6})(\d{4})?(R?[CD])([A-Z])?\n?(\d[\d,]*)")


def _mt_amount(s: str) -> Decimal:
    return Decimal(s.replace(",", ".")) if "," in s else Decimal(s)


def mt940_check(data: bytes) -> dict:
    """Split into statements at :20:, tie opening + entries == closing for each."""
    text = data.decode("latin-1").replace("\r\n", "\n").replace("\r", "\n")
    fields: list[tuple[str, str]] = []
    matches = list(_TAG.finditer(text))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        value = text[m.end():end]
        value = re.split(r"\n-\}?|\n\{5:", value)[0].rstrip("\n")   # envelope trailers
        fields.append((m.group(1), value))
    tags = {t for t, _ in fields}
    notes: list[str] = []
    if not fields:
        return {"ties": "no", "statements": 0, "detail": "no MT940 tags"}
    if re.search(r"\{1:[^}]*\}", text) or re.search(r"^\{1:", text, re.MULTILINE):
        notes.append("SWIFT envelope {1:}{2:}{4:}")
    head = text.lstrip("\x01\n ")[:40]
    if not head.startswith(":") and not head.startswith("{"):
        notes.append(f"bank header {head.splitlines()[0][:20]!r}")
    if "940" in {l.strip() for l in text.splitlines()[:4]} or text.lstrip().startswith(":940:"):
        notes.append("940 marker line")
    if {"34F", "13D"} & tags or ({"90D", "90C"} & tags and not {"60F", "60M"} & tags):
        return {"ties": "n/a", "statements": 0, "detail": "MT942 (:34F:/:13D:/:90a:)",
                "notes": notes}
    stmts: list[dict] = []
    cur: dict | None = None
    for tag, value in fields:
        if tag == "20" or cur is None:
            cur = {"20": tag == "20", "opening": None, "closing": None, "entries": [],
                   "bad": [], "has25": False, "has28": False}
            stmts.append(cur)
        if tag == "25":
            cur["has25"] = True
        elif tag.startswith("28"):
            cur["has28"] = True
        elif tag in ("60F", "60M", "62F", "62M"):
            m = _BAL.match(value.strip())
            key = "opening" if tag.startswith("60") else "closing"
            if not m:
                cur["bad"].append(f":{tag}:{value.strip()[:20]} unreadable")
                cur[key] = "bad"
                continue
            amt = _mt_amount(m.group(4)) * (-1 if m.group(1) == "D" else 1)
            if key == "opening" and cur["opening"] is not None:
                continue
            cur[key] = (amt, m.group(3))
        elif tag == "61":
            m = _LINE61.match(value)
            if not m:
                cur["bad"].append(f":61:{value[:20]} unreadable")
                continue
            mark, amount = m.group(3), m.group(5)
            if "," not in amount:
                notes.append(f"amount without decimal comma ({amount})")
            a = _mt_amount(amount)
            credit = mark in ("C", "RD")         # RD: reversal of a debit books a credit
            cur["entries"].append(a if credit else -a)
    problems: list[str] = []
    ties_all = True
    for i, s in enumerate(stmts, 1):
        missing = [t for t, ok in ((":20:", s["20"]), (":25:", s["has25"]),
                                   (":60a:", s["opening"] is not None),
                                   (":62a:", s["closing"] is not None)) if not ok]
        if missing:
            problems.append(f"#{i} missing {' '.join(missing)}")
            ties_all = False
            continue
        if s["bad"]:
            problems.append(f"#{i} {'; '.join(s['bad'])}")
            ties_all = False
            continue
        (o, oc), (c, cc) = s["opening"], s["closing"]
        total = o + sum(s["entries"], Decimal(0))
        if oc != cc or total != c:
            ties_all = False
            problems.append(f"#{i} {o} {oc} {sum(s['entries'], Decimal(0)):+} = {total} != {c} {cc}")
    n_entries = sum(len(s["entries"]) for s in stmts)
    return {"ties": "yes" if ties_all else "no", "statements": len(stmts), "entries": n_entries,
            "detail": "; ".join(problems[:3]) + (f"; +{len(problems) - 3} more" if len(problems) > 3 else ""),
            "notes": sorted(set(notes))}


# --------------------------------------------------------------------------- independent camt
_CAMT_KINDS = {"BkToCstmrStmt": "camt.053", "BkToCstmrAcctRpt": "camt.052",
               "BkToCstmrDbtCdtNtfctn": "camt.054"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _kids(el, name):
    return [c for c in el if _local(c.tag) == name]


def _kid(el, *path):
    for name in path:
        if el is None:
            return None
        found = _kids(el, name)
        el = found[0] if found else None
    return el


def camt_check(data: bytes) -> dict:
    try:
        from defusedxml import ElementTree as ET
    except ImportError:  # pragma: no cover
        from xml.etree import ElementTree as ET
    try:
        root = ET.fromstring(data)
    except Exception as e:  # noqa: BLE001
        return {"ties": "no", "statements": 0, "detail": f"not XML: {first_line(e)}"}
    msg = next(iter(root), None)
    kind = _CAMT_KINDS.get(_local(msg.tag) if msg is not None else "", "unknown")
    if kind != "camt.053":
        return {"ties": "n/a", "statements": 0, "detail": f"{kind} message"}
    stmts = _kids(msg, "Stmt")
    if not stmts:
        return {"ties": "no", "statements": 0, "detail": "no Stmt"}
    problems = []
    entries = 0
    for i, st in enumerate(stmts, 1):
        acct_ccy = (_kid(st, "Acct", "Ccy").text.strip() if _kid(st, "Acct", "Ccy") is not None else None)
        bals: dict[str, tuple[Decimal, str]] = {}
        for bal in _kids(st, "Bal"):
            code_el = _kid(bal, "Tp", "CdOrPrtry", "Cd")
            code = code_el.text.strip() if code_el is not None and code_el.text else "?"
            amt_el = _kid(bal, "Amt")
            sign = -1 if (_kid(bal, "CdtDbtInd").text or "").strip() == "DBIT" else 1
            bals.setdefault(code, (sign * Decimal(amt_el.text.strip()), amt_el.get("Ccy")))
        opening = bals.get("OPBD") or bals.get("PRCD")
        closing = bals.get("CLBD")
        net = Decimal(0)
        ccys = set()
        for ntry in _kids(st, "Ntry"):
            sts = _kid(ntry, "Sts")
            status = ("".join(sts.itertext()).strip() if sts is not None else "")
            if status and status != "BOOK":
                continue
            entries += 1
            amt_el = _kid(ntry, "Amt")
            sign = -1 if (_kid(ntry, "CdtDbtInd").text or "").strip() == "DBIT" else 1
            net += sign * Decimal(amt_el.text.strip())
            ccys.add(amt_el.get("Ccy"))
        if opening is None or closing is None:
            have = ",".join(sorted(bals)) or "none"
            problems.append(f"#{i} no {'OPBD' if opening is None else 'CLBD'} (balances: {have})")
            continue
        currencies = {opening[1], closing[1], *ccys} - {None}
        if acct_ccy:
            currencies.add(acct_ccy)
        if len(currencies) > 1 or opening[0] + net != closing[0]:
            problems.append(f"#{i} {opening[0]} {opening[1]} {net:+} != {closing[0]} {closing[1]}")
    return {"ties": "no" if problems else "yes", "statements": len(stmts), "entries": entries,
            "detail": "; ".join(problems)}


# --------------------------------------------------------------------------- independent BAI2
_REC_START = re.compile(r"^\s*(\d\d),")


def bai2_records(text: str) -> list[tuple[str, int]]:
    """Logical records: '/' ends one when a record code or the line end follows; a
    physical line that does not start with a record code continues the previous one."""
    recs: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        for piece in re.split(r"/\s*(?=\d\d,)|/\s*$", line.rstrip()):
            if not piece.strip():
                continue
            if _REC_START.match(piece):
                recs.append(piece.strip())
            elif recs:
                recs[-1] += piece
    merged: list[list] = []                    # [record text, records it was written as]
    for r in recs:
        if r.startswith("88,") and merged:
            merged[-1][0] += "," + r[3:]
            merged[-1][1] += 1
        else:
            merged.append([r, 1])
    return [(r, n) for r, n in merged]


def _int(s: str) -> int:
    s = s.strip()
    return int(s) if s not in ("", "+", "-") else 0


def _funds_extra(fields: list[str], i: int) -> int:
    """Number of fields after the funds type at index i."""
    ft = fields[i].strip().upper() if i < len(fields) else ""
    if ft == "S":
        return 3
    if ft == "V":
        return 2
    if ft == "D":
        n = _int(fields[i + 1]) if i + 1 < len(fields) else 0
        return 1 + 2 * n
    return 0


def bai2_check(data: bytes) -> dict:
    text = data.decode("latin-1")
    recs = bai2_records(text)
    if not recs or not recs[0][0].startswith("01,"):
        return {"ties": "no", "statements": 0, "detail": "no 01 file header"}
    problems: list[str] = []
    accounts = entries = 0
    file_total = group_total = acct_total = 0
    acct_open: dict | None = None
    group_count = acct_in_group = 0
    seen = Counter(r[:2] for r, _ in recs)
    n_file = n_group = n_acct = 0
    for r, n in recs:
        f = r.split(",")
        code = f[0]
        n_file += n
        n_group += n
        n_acct += n
        if code == "02":
            group_total, acct_in_group = 0, 0
            group_count += 1
            n_group = n
        elif code == "03":
            accounts += 1
            acct_in_group += 1
            acct_total = 0
            n_acct = n
            acct_open = {"name": f[1], "010": None, "015": None, "cr": 0, "dr": 0}
            i = 3
            while i + 1 < len(f):
                tc, amt = f[i].strip(), f[i + 1]
                if not tc:                       # empty field (trailing ',' before '/')
                    i += 1
                    continue
                acct_total += _int(amt)
                if tc in ("010", "015"):
                    acct_open[tc] = _int(amt) if amt.strip() else None
                extra = _funds_extra(f, i + 3) if i + 3 < len(f) else 0
                i += 4 + extra
        elif code == "16":
            entries += 1
            amt = _int(f[2]) if len(f) > 2 else 0
            acct_total += amt
            tc = _int(f[1]) if len(f) > 1 and f[1].strip().isdigit() else 0
            if acct_open is not None:
                if 100 <= tc <= 399:
                    acct_open["cr"] += amt
                elif 400 <= tc <= 699:
                    acct_open["dr"] += amt
        elif code == "49":
            declared = f[1].strip() if len(f) > 1 else ""
            if declared and _int(declared) != acct_total:
                problems.append(f"49 of {acct_open['name'] if acct_open else '?'}: "
                                f"{declared} != {acct_total}")
            if len(f) > 2 and f[2].strip() and _int(f[2]) != n_acct:
                problems.append(f"49 of {acct_open['name'] if acct_open else '?'}: "
                                f"{f[2].strip()} records != {n_acct}")
            if acct_open and acct_open["010"] is not None and acct_open["015"] is not None:
                o, c = acct_open["010"], acct_open["015"]
                if o + acct_open["cr"] - acct_open["dr"] != c:
                    problems.append(f"ledger {acct_open['name']}: 010 {o} + {acct_open['cr']} "
                                    f"- {acct_open['dr']} != 015 {c}")
            group_total += acct_total
            acct_open = None
        elif code == "98":
            if _int(f[1]) != group_total:
                problems.append(f"98: {f[1].strip()} != {group_total}")
            if len(f) > 2 and f[2].strip() and _int(f[2]) != acct_in_group:
                problems.append(f"98: {f[2].strip()} accounts != {acct_in_group}")
            if len(f) > 3 and f[3].strip() and _int(f[3]) != n_group:
                problems.append(f"98: {f[3].strip()} records != {n_group}")
            file_total += group_total
        elif code == "99":
            if _int(f[1]) != file_total:
                problems.append(f"99: {f[1].strip()} != {file_total}")
            if len(f) > 2 and f[2].strip() and _int(f[2]) != group_count:
                problems.append(f"99: {f[2].strip()} groups != {group_count}")
            if len(f) > 3 and f[3].strip() and _int(f[3]) != n_file:
                problems.append(f"99: {f[3].strip()} records != {n_file}")
    for code, what in (("02", "group header"), ("49", "account trailer"),
                       ("98", "group trailer"), ("99", "file trailer")):
        if not seen.get(code):
            problems.append(f"no {code} {what}")
    return {"ties": "no" if problems else "yes", "statements": accounts, "entries": entries,
            "detail": "; ".join(problems[:3]) + (f"; +{len(problems) - 3} more" if len(problems) > 3 else "")}


def independent_check(fmt: str, path: Path) -> dict:
    data = path.read_bytes()
    try:
        if fmt == "mt940":
            out = mt940_check(data)
        elif fmt == "camt053":
            out = camt_check(data)
        elif fmt == "bai2":
            out = bai2_check(data)
        else:
            return {"ties": "n/a", "detail": ""}
    except Exception as e:  # noqa: BLE001 - the checker is a helper, never fatal
        return {"ties": "?", "detail": f"checker failed: {type(e).__name__}: {first_line(e)}"}
    enc = "ascii"
    try:
        data.decode("ascii")
    except UnicodeDecodeError:
        try:
            data.decode("utf-8")
            enc = "utf-8"
        except UnicodeDecodeError:
            enc = "8-bit (not UTF-8)"
    out["encoding"] = enc
    if b"\r\n" in data:
        out.setdefault("notes", []).append("CRLF")
    if re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]", data):
        out.setdefault("notes", []).append("control characters")
    return out


# --------------------------------------------------------------------------- comparison

def compare(stmts, expected: dict) -> list[str]:
    """Figures that differ between the imported statements and the expected values."""
    diffs: list[str] = []
    got_entries = sum(int(getattr(s, "entries", 0) or 0) for s in stmts)
    got: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for s in stmts:
        got[str(s.currency)][0] += int(s.credits_minor)
        got[str(s.currency)][1] += int(s.debits_minor)
    if "statements" in expected and expected["statements"] != len(stmts):
        diffs.append(f"statements {len(stmts)} != expected {expected['statements']}")
    if expected.get("entries_partial"):
        return diffs
    if got_entries != expected["entries"]:
        diffs.append(f"entries {got_entries} != expected {expected['entries']}")
    exp = expected.get("per_currency", {})
    for cur in sorted(set(exp) | set(got)):
        e = exp.get(cur, {"credits": 0, "debits": 0})
        g = got.get(cur, [0, 0])
        if g[0] != e["credits"]:
            diffs.append(f"credits {cur} {g[0]} != expected {e['credits']}")
        if g[1] != e["debits"]:
            diffs.append(f"debits {cur} {g[1]} != expected {e['debits']}")
        rev = expected.get("reversals", {}).get(cur, 0)
        if rev and g[0] != e["credits"] and abs(g[0] - e["credits"]) == rev \
                and abs(g[1] - e["debits"]) == rev:
            diffs.append(f"(difference = the {rev} of RC/RD reversals: WoLpH signs them by "
                         "the last letter, RC as a credit; SWIFT books RC as a debit)")
    if len(stmts) == 1 and expected.get("source") == "WoLpH-mt940":
        s = stmts[0]
        for attr, key in (("opening_balance_minor", "final_opening_balance"),
                          ("closing_balance_minor", "final_closing_balance")):
            if key in expected and getattr(s, attr, None) is not None \
                    and int(getattr(s, attr)) != expected[key]:
                diffs.append(f"{attr.split('_')[0]} balance {getattr(s, attr)} != expected {expected[key]}")
    return diffs


# --------------------------------------------------------------------------- main

def sample_files(root: Path) -> list[Path]:
    out = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if not p.is_file() or rel.parts[0] == "expected" or p.name.startswith("."):
            continue
        if p.name in SKIP_NAMES or p.suffix.lower() in SKIP_SUFFIXES:
            continue
        out.append(p)
    return out


def setup_path(root_opt: Path | None) -> None:
    """``--root`` first; else PYTHONPATH keeps precedence; else this repo."""
    if root_opt is not None:
        sys.path.insert(0, str(root_opt.resolve()))
    elif os.environ.get("PYTHONPATH"):
        sys.path.append(str(ROOT))
    else:
        sys.path.insert(0, str(ROOT))


OUTCOMES = ["checked", "no-expected", "disagrees", "refused-true", "refused-wrongly",
            "imported-wrongly", "crashed"]
LABELS = {"checked": "imported and checked", "no-expected": "imported, no expected values",
          "disagrees": "imported, disagrees with expected", "refused-true": "refused, true reason",
          "refused-wrongly": "refused wrongly", "imported-wrongly": "imported wrongly",
          "crashed": "crashed"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", nargs="?", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--json", type=Path, help="write every figure to this file")
    ap.add_argument("--root", type=Path, help="repo whose workbench to import (default: PYTHONPATH, else this repo)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    setup_path(args.root)
    root: Path = args.dir.resolve()
    header = {"dir": str(root), "python": sys.version.split()[0]}
    try:
        import workbench
        from workbench.io.bank import StatementError, read_statement
        header["workbench"] = str(Path(workbench.__file__).resolve())
    except Exception as e:  # noqa: BLE001 - a report: say so and stop
        print(f"cannot import the importer: {type(e).__name__}: {first_line(e)}")
        print(f"elapsed {time.perf_counter() - t0:.2f} s, peak RSS {peak_mb():.0f} MB")
        return 0
    print(f"bank conformance: {root}")
    print(f"workbench: {header['workbench']}")
    import subprocess
    try:
        wb_root = Path(header["workbench"]).parent.parent
        rev = subprocess.run(["git", "-C", str(wb_root), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10, check=False).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(wb_root), "status", "--porcelain", "--", "workbench"],
                               capture_output=True, text=True, timeout=10,
                               check=False).stdout.strip()
        header["git"] = rev + (" + uncommitted changes under workbench/" if dirty else "")
        print(f"git: {header['git']}")
    except (OSError, subprocess.SubprocessError):  # no git: the path above says enough
        header["git"] = "?"

    files = sample_files(root)
    unknown_refuse = sorted(set(SHOULD_REFUSE) - {p.relative_to(root).as_posix() for p in files})
    rows: list[dict] = []
    for p in files:
        rel = p.relative_to(root).as_posix()
        parts = p.relative_to(root).parts
        fmt = parts[0] if parts[0] in FORMATS else "other"
        source = parts[1] if len(parts) > 2 else ""
        row = {"file": rel, "format": fmt, "source": source, "statements": None, "entries": None,
               "message": "", "should_refuse": SHOULD_REFUSE.get(rel), "either": EITHER.get(rel)}
        row["independent"] = independent_check(fmt, p)
        expected = load_expected(root, source, p.name)
        row["expected"] = expected
        t1 = time.perf_counter()
        try:
            stmts = read_statement(p)
        except StatementError as e:
            row["outcome"] = ("refused-true" if rel in SHOULD_REFUSE or rel in EITHER
                              else "refused-wrongly")
            row["message"] = first_line(e)
        except Exception as e:  # noqa: BLE001 - that is the point: count it
            row["outcome"] = "crashed"
            row["message"] = f"{type(e).__name__}: {first_line(e)}"
        else:
            row["statements"] = len(stmts)
            row["entries"] = sum(int(getattr(s, "entries", 0) or 0) for s in stmts)
            row["credits_minor"] = {}
            row["debits_minor"] = {}
            for s in stmts:
                c = str(s.currency)
                row["credits_minor"][c] = row["credits_minor"].get(c, 0) + int(s.credits_minor)
                row["debits_minor"][c] = row["debits_minor"].get(c, 0) + int(s.debits_minor)
            row["balances"] = [[getattr(s, "opening_balance_minor", None),
                                getattr(s, "closing_balance_minor", None)] for s in stmts]
            if rel in SHOULD_REFUSE:
                row["outcome"] = "imported-wrongly"
                row["message"] = f"should refuse: {SHOULD_REFUSE[rel]}"
            elif expected is None:
                row["outcome"] = "no-expected"
            elif "error" in expected:
                row["outcome"] = "disagrees"
                row["message"] = f"expected values unreadable: {expected['error']}"
            else:
                diffs = compare(stmts, expected)
                row["diffs"] = diffs
                row["outcome"] = "disagrees" if diffs else "checked"
                row["message"] = "; ".join(diffs)
                if expected.get("entries_partial") and not diffs:
                    row["message"] = "statements only: " + expected["entries_partial"]
        if row["either"]:
            row["message"] = f"[either: {row['either']}] " + row["message"]
        row["seconds"] = round(time.perf_counter() - t1, 4)
        rows.append(row)

    # ---- summary per format
    counts = {f: Counter(r["outcome"] for r in rows if r["format"] == f) for f in FORMATS}
    counts["all"] = Counter(r["outcome"] for r in rows)
    w = max(len(LABELS[o]) for o in OUTCOMES)
    print()
    print(f"{'outcome':<{w}} " + " ".join(f"{f:>8}" for f in (*FORMATS, "all")))
    for o in OUTCOMES:
        print(f"{LABELS[o]:<{w}} " + " ".join(f"{counts[f].get(o, 0):>8}" for f in (*FORMATS, "all")))
    print(f"{'files':<{w}} " + " ".join(f"{sum(counts[f].values()):>8}" for f in (*FORMATS, "all")))

    for outcome, title in (("disagrees", "imported but disagrees with expected values"),
                           ("refused-wrongly", "refused wrongly (complete, valid statements)"),
                           ("imported-wrongly", "imported wrongly (should be refused)"),
                           ("crashed", "crashed")):
        sel = [r for r in rows if r["outcome"] == outcome]
        if sel:
            print(f"\n{title}:")
            for r in sel:
                print(f"  {r['file']}: {r['message']}")

    # ---- per-file table
    print()
    cols = ("file", "format", "outcome", "stmts", "entries", "ties (independent)", "message")
    fw = max(len(r["file"]) for r in rows) if rows else 4
    print(f"{cols[0]:<{fw}}  {cols[1]:<7}  {cols[2]:<16}  {cols[3]:>5}  {cols[4]:>7}  {cols[5]:<18}  {cols[6]}")
    for r in rows:
        ind = r["independent"]
        ties = ind.get("ties", "?")
        msg = r["message"] or (f"should refuse: {r['should_refuse']}" if r["should_refuse"] else "")
        print(f"{r['file']:<{fw}}  {r['format']:<7}  {r['outcome']:<16}  "
              f"{'' if r['statements'] is None else r['statements']:>5}  "
              f"{'' if r['entries'] is None else r['entries']:>7}  {ties:<18}  {short(msg)}")

    # ---- notes from the independent reader
    print("\nindependent check (this script's own reader; classification only):")
    for r in rows:
        ind = r["independent"]
        bits = []
        if ind.get("ties") == "no":
            bits.append(f"does not tie: {ind.get('detail')}")
        elif ind.get("ties") in ("n/a", "?"):
            bits.append(ind.get("detail", ""))
        if ind.get("encoding", "ascii") != "ascii":
            bits.append(f"encoding {ind['encoding']}")
        if ind.get("notes"):
            bits.append(", ".join(ind["notes"]))
        if bits:
            print(f"  {r['file']}: " + " | ".join(b for b in bits if b))
    odd = [r["file"] for r in rows if r["independent"].get("ties") in ("no", "n/a")
           and not r["should_refuse"]]
    if odd:
        print("  WARNING: not tied by the independent check but not in SHOULD_REFUSE: " + ", ".join(odd))
    tied_refuse = [r["file"] for r in rows if r["independent"].get("ties") == "yes"
                   and r["should_refuse"] and "tie" in r["should_refuse"]]
    if tied_refuse:
        print("  WARNING: in SHOULD_REFUSE for not tying, but the independent check ties: "
              + ", ".join(tied_refuse))
    if unknown_refuse:
        print("  WARNING: SHOULD_REFUSE names files not found: " + ", ".join(unknown_refuse))

    elapsed = time.perf_counter() - t0
    if args.json:
        out = {"header": header, "counts": {f: dict(c) for f, c in counts.items()},
               "should_refuse": SHOULD_REFUSE, "either": EITHER, "files": rows,
               "seconds": round(elapsed, 2), "peak_mb": round(peak_mb())}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2, default=str), encoding="utf-8")
        print(f"\nwrote {args.json}")
    print(f"\nelapsed {elapsed:.2f} s, peak RSS {peak_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
