"""Static HTML for notebooks and reports (renders in nbconvert HTML, unlike widgets)."""

from __future__ import annotations

import html

__all__ = ["kpi_tiles"]

_STYLE = """<style>
.wb-tiles{display:flex;flex-wrap:wrap;gap:10px;margin:6px 0 14px 0;font-family:sans-serif}
.wb-tile{border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;min-width:150px;background:#fafbfc}
.wb-tile .v{font-size:20px;font-weight:600;color:#1f2328}
.wb-tile .l{font-size:12px;color:#57606a}
.wb-tile .n{font-size:11px;color:#8c959f}
</style>"""


def _fmt(v, digits=1, suffix=""):
    if v is None or v != v:
        return "n/a"
    return f"{v:,.{digits}f}{suffix}"


def kpi_tiles(record: dict) -> str:
    """HTML tiles for one KPI record (from :func:`workbench.kpis.kpi_records`)."""
    cur = record.get("currency", "")
    tiles = [
        ("DSO", _fmt(record.get("dso")), "days, ending AR / credit sales"),
        ("Countback DSO", _fmt(record.get("countback_dso")), "days, months of sales in AR"),
        ("Best possible DSO", _fmt(record.get("best_possible_dso")), "days, current AR only"),
        ("ADD", _fmt(record.get("add")), "days delinquent on average"),
        ("CEI", _fmt(record.get("cei"), 1, " %"), "collected of what was collectible"),
        ("Aging over 60", _fmt(record.get("aging_over_60_pct"), 1, " %"), "of open AR"),
        ("Ending AR", f"{float(record['ending_ar']):,.0f} {cur}", f"as of {record.get('end')}"),
        ("Unapplied cash", f"{float(record['unapplied_cash']):,.0f} {cur}",
         f"avg age {_fmt(record.get('unapplied_cash_avg_age_days'), 0)} days"),
        ("Open disputes", f"{record.get('open_disputes', 0)}",
         f"{float(record.get('open_dispute_amount', 0) or 0):,.0f} {cur}"),
        ("Promises kept", _fmt(record.get("promise_kept_rate"), 0, " %"),
         f"{record.get('promises_kept', 0)} kept, {record.get('promises_broken', 0)} broken"),
        ("Cash collected", f"{float(record['cash_collected']):,.0f} {cur}", record.get("period", "")),
    ]
    body = "".join(f'<div class="wb-tile"><div class="l">{html.escape(label)}</div>'
                   f'<div class="v">{html.escape(str(value))}</div>'
                   f'<div class="n">{html.escape(str(note))}</div></div>'
                   for label, value, note in tiles)
    return f'{_STYLE}<div><b>{html.escape(cur)}</b> · {html.escape(str(record.get("period", "")))}' \
           f'<div class="wb-tiles">{body}</div></div>'
