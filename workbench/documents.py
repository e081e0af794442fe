"""Customer documents: the statement of account (HTML and Excel) and dunning letters
(Jinja2 templates) in English, Spanish and Portuguese, chosen by the customer's
``language`` (English when the column is absent or empty). Each generated document can
be recorded in the activity log, with a hash of its content.

Amounts in different currencies are never added: a customer with invoices (or payments)
in several currencies gets one section per currency, each with its own total, aging and
payments. Every amount is formatted from integer minor units by :mod:`workbench.money`
(ISO 4217 decimals: ``1.234 KWD``, ``125,000 JPY``, ``1,000.00 USD``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
from jinja2 import (Environment, FileSystemLoader, StrictUndefined,
                    select_autoescape)

from .aging import load_aging_policy
from .io.writer import atomic_path, atomic_write_text
from .ledger import Ledger
from .money import format_amount, format_money, to_major_float

__all__ = ["statement_data", "statement_html", "statement_excel", "dunning_letter",
           "LETTER_STAGES", "LANGUAGES", "record_document"]

LANGUAGES = ("en", "es", "pt")
LETTER_STAGES = ("reminder", "friendly", "firm", "final")
_TEMPLATES = Path(__file__).resolve().parent / "templates"

_env = Environment(loader=FileSystemLoader(str(_TEMPLATES)), undefined=StrictUndefined,
                   autoescape=select_autoescape(["html", "j2"]))

LETTERHEAD = {"company": "Collections Workbench Demo Co.",
              "address": "100 Ledger Street, Springfield",
              "contact": "ar@example.com · +1 555 0100"}

TEXT = {
    "en": {
        "statement_title": "Statement of account", "as_of": "As of", "currency": "Currency",
        "open_items": "Open items", "invoice": "Invoice", "invoice_date": "Invoice date",
        "due_date": "Due date", "amount": "Amount", "open": "Open", "days_past_due": "Days past due",
        "bucket": "Aging", "total_open": "Total open", "no_open_items": "No open items.",
        "aging": "Aging summary", "recent_payments": "Recent payments", "days": "days",
        "receipt": "Payment", "date": "Date", "applied": "Applied",
        "no_payments": "No payments received in this period.",
        "on_account": "Unapplied payments on your account",
        "footer": "Please contact us if any item does not agree with your records.",
        "account": "Account", "greeting": "Dear Accounts Payable team,",
        "total_past_due": "Total past due", "signature": "Kind regards,",
        "separate_currencies": "Each currency is totalled on its own: amounts in different "
                               "currencies are not added.",
        "stages": {
            "reminder": ("Upcoming payment reminder",
                         "This is a courtesy reminder that the invoices below fall due shortly.",
                         "Thank you for arranging payment by the due date."),
            "friendly": ("Payment reminder",
                         "Our records show the invoices below are past due. Perhaps this has "
                         "been overlooked.",
                         "If you have already paid, please disregard this letter and send us the "
                         "remittance details."),
            "firm": ("Second notice: payment overdue",
                     "Despite our earlier reminder, the invoices below remain unpaid.",
                     "Please pay the total past due within 7 days or contact us to agree a "
                     "payment date."),
            "final": ("Final notice before further action",
                      "The invoices below are seriously overdue and we have not received payment "
                      "or a response.",
                      "Unless the total past due is received within 10 days, we will suspend "
                      "further deliveries on your account and refer the matter for collection."),
        },
    },
    "es": {
        "statement_title": "Estado de cuenta", "as_of": "Fecha de corte", "currency": "Moneda",
        "open_items": "Partidas abiertas", "invoice": "Factura", "invoice_date": "Fecha de factura",
        "due_date": "Vencimiento", "amount": "Importe", "open": "Pendiente",
        "days_past_due": "Días vencidos", "bucket": "Antigüedad", "total_open": "Total pendiente",
        "no_open_items": "No hay partidas abiertas.", "aging": "Resumen de antigüedad",
        "recent_payments": "Pagos recientes", "days": "días", "receipt": "Pago", "date": "Fecha",
        "applied": "Aplicado", "no_payments": "No se recibieron pagos en este periodo.",
        "on_account": "Pagos no aplicados en su cuenta",
        "footer": "Contáctenos si alguna partida no coincide con sus registros.",
        "account": "Cuenta", "greeting": "Estimado equipo de cuentas por pagar:",
        "total_past_due": "Total vencido", "signature": "Atentamente,",
        "separate_currencies": "Cada moneda se totaliza por separado: los importes en monedas "
                               "distintas no se suman.",
        "stages": {
            "reminder": ("Recordatorio de próximo vencimiento",
                         "Le recordamos que las facturas siguientes vencen próximamente.",
                         "Gracias por programar el pago en la fecha de vencimiento."),
            "friendly": ("Recordatorio de pago",
                         "Según nuestros registros, las facturas siguientes están vencidas. "
                         "Quizás se trate de un descuido.",
                         "Si ya realizó el pago, ignore esta carta y envíenos el detalle del pago."),
            "firm": ("Segundo aviso: pago vencido",
                     "A pesar de nuestro recordatorio anterior, las facturas siguientes siguen "
                     "sin pagarse.",
                     "Le rogamos pagar el total vencido en un plazo de 7 días o contactarnos "
                     "para acordar una fecha de pago."),
            "final": ("Último aviso antes de otras acciones",
                      "Las facturas siguientes presentan un atraso grave y no hemos recibido "
                      "pago ni respuesta.",
                      "Si no recibimos el total vencido en un plazo de 10 días, suspenderemos "
                      "los envíos a su cuenta y remitiremos el caso a cobranza."),
        },
    },
    "pt": {
        "statement_title": "Extrato de conta", "as_of": "Data-base", "currency": "Moeda",
        "open_items": "Itens em aberto", "invoice": "Fatura", "invoice_date": "Data da fatura",
        "due_date": "Vencimento", "amount": "Valor", "open": "Em aberto",
        "days_past_due": "Dias em atraso", "bucket": "Prazo", "total_open": "Total em aberto",
        "no_open_items": "Não há itens em aberto.", "aging": "Resumo por prazo",
        "recent_payments": "Pagamentos recentes", "days": "dias", "receipt": "Pagamento",
        "date": "Data", "applied": "Aplicado",
        "no_payments": "Nenhum pagamento recebido neste período.",
        "on_account": "Pagamentos não aplicados em sua conta",
        "footer": "Entre em contato conosco se algum item não conferir com seus registros.",
        "account": "Conta", "greeting": "Prezada equipe de contas a pagar,",
        "total_past_due": "Total em atraso", "signature": "Atenciosamente,",
        "separate_currencies": "Cada moeda é totalizada separadamente: valores em moedas "
                               "diferentes não são somados.",
        "stages": {
            "reminder": ("Lembrete de vencimento próximo",
                         "Lembramos que as faturas abaixo vencem em breve.",
                         "Agradecemos o pagamento na data de vencimento."),
            "friendly": ("Lembrete de pagamento",
                         "Nossos registros indicam que as faturas abaixo estão vencidas. Talvez "
                         "tenha sido um esquecimento.",
                         "Se o pagamento já foi feito, desconsidere esta carta e envie-nos o "
                         "comprovante."),
            "firm": ("Segundo aviso: pagamento em atraso",
                     "Apesar do nosso lembrete anterior, as faturas abaixo continuam em aberto.",
                     "Pedimos que pague o total em atraso em até 7 dias ou entre em contato "
                     "para combinar uma data de pagamento."),
            "final": ("Último aviso antes de outras medidas",
                      "As faturas abaixo estão em atraso grave e não recebemos pagamento nem "
                      "resposta.",
                      "Se o total em atraso não for recebido em até 10 dias, suspenderemos os "
                      "fornecimentos à sua conta e encaminharemos o caso para cobrança."),
        },
    },
}


def customer_language(ledger: Ledger, customer_id: str) -> str:
    cust = ledger.customers.set_index("customer_id")
    if "language" in cust and isinstance(cust.at[customer_id, "language"], str):
        lang = cust.at[customer_id, "language"]
        if lang in LANGUAGES:
            return lang
    return "en"


def _customer(ledger: Ledger, customer_id: str) -> dict:
    cust = ledger.customers.set_index("customer_id")
    if customer_id not in cust.index:
        raise ValueError(f"unknown customer '{customer_id}'")
    return {"customer_id": customer_id, "name": cust.at[customer_id, "name"],
            "currency": cust.at[customer_id, "currency"]}


def statement_data(ledger: Ledger, customer_id: str, as_of, payment_days: int = 90) -> dict:
    """Everything a statement of account shows, as of a date: one section per currency.

    Returns
    -------
    dict
        ``customer``, ``as_of``, ``currency`` (the customer's), ``currencies`` (those
        shown, the customer's first), ``payment_days``, ``letterhead`` and ``sections``:
        one per currency, each ``{"currency", "items", "total_open", "total_open_minor",
        "buckets", "payments", "on_account", "on_account_minor"}``. Amounts are text
        in the section's currency's decimals (the code is in the column and total labels;
        ``on_account`` carries it: ``"100.000 KWD"``); the ``*_minor`` fields are the exact
        integers. Nothing is added across currencies.
    """
    D = ledger.require_data_by(as_of)
    customer = _customer(ledger, customer_id)
    policy = load_aging_policy()
    items = ledger.open_items(D)
    items = items[items["customer_id"] == customer_id]
    bucket_idx = policy.bucket_of(items["days_past_due"].to_numpy())
    rows = [{"invoice_id": r.invoice_id, "invoice_date": str(r.invoice_date.date()),
             "due_date": str(r.due_date.date()),
             "amount": format_amount(r.amount_minor, r.currency, thousands=True),
             "open": format_amount(r.open_minor, r.currency, thousands=True),
             "open_minor": int(r.open_minor), "days_past_due": int(r.days_past_due),
             "bucket": policy.labels[b], "currency": r.currency}
            for r, b in zip(items.itertuples(index=False), bucket_idx)]
    rec = ledger.receipts
    apps = ledger.applications[ledger.applications["applied_date"] <= D]
    inv_cust = ledger.invoices.set_index("invoice_id")["customer_id"]
    mine = apps[apps["invoice_id"].map(inv_cust) == customer_id]
    applied = mine.groupby("receipt_id")["amount_minor"].sum()
    start = D - pd.Timedelta(days=payment_days)
    own = rec["receipt_id"].isin(applied.index)
    if "customer_id" in rec:
        own |= rec["customer_id"] == customer_id
    recent = rec[own & (rec["receipt_date"] > start) & (rec["receipt_date"] <= D)].sort_values(
        ["receipt_date", "receipt_id"], kind="stable")
    payments = [{"receipt_id": r.receipt_id, "date": str(r.receipt_date.date()),
                 "amount": format_amount(r.amount_minor, r.currency, thousands=True),
                 "applied": format_amount(int(applied.get(r.receipt_id, 0)), r.currency,
                                          thousands=True),
                 "currency": r.currency}
                for r in recent.itertuples(index=False)]
    un = ledger.unapplied_cash(D)
    on_account: dict[str, int] = {}
    if len(un) and "customer_id" in un:
        sums = un[un["customer_id"] == customer_id].groupby("currency")["unapplied_minor"].sum()
        on_account = {c: int(v) for c, v in sums.items() if int(v)}
    own_currency = customer["currency"]
    shown = {r["currency"] for r in rows} | {p["currency"] for p in payments} | set(on_account)
    currencies = sorted(shown or {own_currency}, key=lambda c: (c != own_currency, c))
    sections = []
    for cur in currencies:
        mine_rows = [r for r in rows if r["currency"] == cur]
        sums = {label: 0 for label in policy.labels}
        for r in mine_rows:
            sums[r["bucket"]] += r["open_minor"]
        total = sum(r["open_minor"] for r in mine_rows)     # Python ints: exact
        left = on_account.get(cur, 0)
        sections.append({
            "currency": cur, "items": mine_rows,
            "total_open": format_amount(total, cur, thousands=True), "total_open_minor": total,
            "buckets": [{"label": k, "amount": format_amount(v, cur, thousands=True), "minor": v}
                        for k, v in sums.items()],
            "payments": [p for p in payments if p["currency"] == cur],
            "on_account": format_money(left, cur) if left else "", "on_account_minor": left})
    return {"customer": customer, "as_of": str(D.date()), "currency": own_currency,
            "currencies": currencies, "sections": sections, "payment_days": payment_days,
            "letterhead": LETTERHEAD}


def statement_html(ledger: Ledger, customer_id: str, as_of, language: str | None = None) -> str:
    """The statement of account as a self-contained HTML page in the customer's language
    (one section per currency, each with its own total)."""
    data = statement_data(ledger, customer_id, as_of)
    lang = language or customer_language(ledger, customer_id)
    return _env.get_template("statement.html.j2").render(lang=lang, t=TEXT[lang], **data)


def statement_excel(ledger: Ledger, customer_id: str, as_of, path: str | Path,
                    language: str | None = None) -> Path:
    """The statement of account as an Excel workbook (written atomically): one block per
    currency, amounts as numbers in the currency's ISO 4217 format (``#,##0.000`` for KWD,
    ``#,##0`` for JPY); totals are sums of the integers, converted once."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from .reporting.excel import amount_format

    data = statement_data(ledger, customer_id, as_of)
    lang = language or customer_language(ledger, customer_id)
    t = TEXT[lang]
    wb = Workbook()
    ws = wb.active
    ws.title = t["statement_title"][:31]
    ws.append([t["statement_title"], data["customer"]["name"], data["customer"]["customer_id"]])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([t["as_of"], data["as_of"], t["currency"], ", ".join(data["currencies"])])
    if len(data["sections"]) > 1:
        ws.append([t["separate_currencies"]])

    def money_cells(columns, cur):
        for c in columns:
            ws.cell(row=ws.max_row, column=c).number_format = amount_format(cur)

    for sec in data["sections"]:
        cur = sec["currency"]
        ws.append([])
        ws.append([f"{t['currency']}: {cur}"])
        ws.cell(row=ws.max_row, column=1).font = Font(bold=True, size=12)
        ws.append([t["invoice"], t["invoice_date"], t["due_date"], f"{t['open']} ({cur})",
                   t["days_past_due"], t["bucket"]])
        for cell in ws[ws.max_row]:
            cell.font = Font(bold=True)
        for r in sec["items"]:
            ws.append([r["invoice_id"], r["invoice_date"], r["due_date"],
                       to_major_float(r["open_minor"], cur), r["days_past_due"], r["bucket"]])
            money_cells([4], cur)
        ws.append([f"{t['total_open']} ({cur})", "", "",
                   to_major_float(sec["total_open_minor"], cur)])
        ws.cell(row=ws.max_row, column=1).font = Font(bold=True)
        ws.cell(row=ws.max_row, column=4).font = Font(bold=True)
        money_cells([4], cur)
        ws.append([])
        ws.append([f"{t['aging']} ({cur})"] + [b["label"] for b in sec["buckets"]])
        ws.append([""] + [to_major_float(b["minor"], cur) for b in sec["buckets"]])
        money_cells(range(2, 2 + len(sec["buckets"])), cur)
        if sec["on_account_minor"]:
            ws.append([t["on_account"], "", "", to_major_float(sec["on_account_minor"], cur)])
            money_cells([4], cur)
    for col, width in zip("ABCDEFG", (22, 14, 14, 16, 14, 14, 14)):
        ws.column_dimensions[col].width = width
    path = Path(path)
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return path


def dunning_letter(ledger: Ledger, customer_id: str, as_of, stage: str = "friendly",
                   language: str | None = None, collector: str | None = None) -> str:
    """A dunning letter for the customer's past-due invoices (due-soon ones for ``reminder``);
    one table and one total per currency."""
    if stage not in LETTER_STAGES:
        raise ValueError(f"stage must be one of {', '.join(LETTER_STAGES)}; got {stage!r}")
    data = statement_data(ledger, customer_id, as_of)
    lang = language or customer_language(ledger, customer_id)
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}; got {lang!r}")
    t = dict(TEXT[lang])
    subject, body, closing = t.pop("stages")[stage]
    t.update({"subject": subject, "body": body, "closing": closing})
    sections = []
    for sec in data["sections"]:
        if stage == "reminder":
            items = [i for i in sec["items"] if -10 <= i["days_past_due"] <= 0]
        else:
            items = [i for i in sec["items"] if i["days_past_due"] > 0]
        if items:
            total = sum(i["open_minor"] for i in items)
            sections.append({"currency": sec["currency"], "items": items,
                             "total": format_amount(total, sec["currency"], thousands=True),
                             "total_minor": total})
    if not sections:
        raise ValueError(f"customer '{customer_id}' has no "
                         f"{'invoices falling due' if stage == 'reminder' else 'past-due invoices'} "
                         f"on {data['as_of']}: no {stage} letter to send")
    if collector is None and "collector" in ledger.customers:
        # the collector in force on the letter's date (customer_changes); the master's
        # current one when the date is today, none when a past date's is unknown
        from .master import master_values
        got, known, _ = master_values(ledger, "collector", [customer_id], data["as_of"])
        collector = got[0] if known[0] and not pd.isna(got[0]) else ""
    return _env.get_template("letter.html.j2").render(
        lang=lang, t=t, customer=data["customer"], sections=sections, date=data["as_of"],
        collector=collector or "", letterhead=LETTERHEAD)


def record_document(log, ledger: Ledger, customer_id: str, kind: str, what: str, html: str,
                    collector: str, path: str | Path | None = None, actor: str | None = None,
                    at=None) -> int:
    """Write a generated document (atomically, when a path is given) and record it in the
    activity log with its SHA-256, so an auditor can match the copy sent."""
    digest = hashlib.sha256(html.encode("utf-8")).hexdigest()
    if path is not None:
        atomic_write_text(path, html)
    note = f"{what} generated (sha256 {digest[:16]})" + (f", saved as {Path(path).name}" if path else "")
    return log.add(customer_id, kind, collector, note=note, actor=actor, at=at)
