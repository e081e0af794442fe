"""Customer documents: the statement of account (HTML and Excel) and dunning letters
(Jinja2 templates) in English, Spanish and Portuguese, chosen by the customer's
``language`` (English when the column is absent or empty). Each generated document can
be recorded in the activity log, with a hash of its content.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .aging import load_aging_policy
from .io.writer import atomic_path, atomic_write_text
from .ledger import Ledger
from .money import format_amount

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
    """Everything a statement of account shows, as of a date (exact amounts as text)."""
    D = ledger.require_data_by(as_of)
    customer = _customer(ledger, customer_id)
    policy = load_aging_policy()
    items = ledger.open_items(D)
    items = items[items["customer_id"] == customer_id]
    currency = customer["currency"] if not len(items) else items["currency"].mode().iloc[0]
    bucket_idx = policy.bucket_of(items["days_past_due"].to_numpy())
    rows = [{"invoice_id": r.invoice_id, "invoice_date": str(r.invoice_date.date()),
             "due_date": str(r.due_date.date()), "amount": format_amount(r.amount_minor, r.currency, thousands=True),
             "open": format_amount(r.open_minor, r.currency, thousands=True),
             "open_minor": int(r.open_minor), "days_past_due": int(r.days_past_due),
             "bucket": policy.labels[b], "currency": r.currency}
            for r, b in zip(items.itertuples(index=False), bucket_idx)]
    sums = {label: 0 for label in policy.labels}
    for r in rows:
        sums[r["bucket"]] += r["open_minor"]
    rec = ledger.receipts
    apps = ledger.applications[ledger.applications["applied_date"] <= D]
    inv_cust = ledger.invoices.set_index("invoice_id")["customer_id"]
    mine = apps[apps["invoice_id"].map(inv_cust) == customer_id]
    applied = mine.groupby("receipt_id")["amount_minor"].sum()
    start = D - pd.Timedelta(days=payment_days)
    own = rec["receipt_id"].isin(applied.index)
    if "customer_id" in rec:
        own |= rec["customer_id"] == customer_id
    recent = rec[own & (rec["receipt_date"] > start) & (rec["receipt_date"] <= D)].sort_values("receipt_date")
    payments = [{"receipt_id": r.receipt_id, "date": str(r.receipt_date.date()),
                 "amount": format_amount(r.amount_minor, r.currency, thousands=True),
                 "applied": format_amount(int(applied.get(r.receipt_id, 0)), r.currency, thousands=True)}
                for r in recent.itertuples(index=False)]
    un = ledger.unapplied_cash(D)
    on_account = 0
    if len(un) and "customer_id" in un:
        on_account = int(un.loc[un["customer_id"] == customer_id, "unapplied_minor"].sum())
    return {"customer": customer, "as_of": str(D.date()), "currency": currency, "items": rows,
            "total_open": format_amount(sum(r["open_minor"] for r in rows), currency, thousands=True),
            "buckets": [{"label": k, "amount": format_amount(v, currency, thousands=True),
                         "minor": v} for k, v in sums.items()],
            "payments": payments, "payment_days": payment_days,
            "on_account": format_amount(on_account, currency, thousands=True) if on_account else "",
            "letterhead": LETTERHEAD}


def statement_html(ledger: Ledger, customer_id: str, as_of, language: str | None = None) -> str:
    """The statement of account as a self-contained HTML page in the customer's language."""
    data = statement_data(ledger, customer_id, as_of)
    lang = language or customer_language(ledger, customer_id)
    return _env.get_template("statement.html.j2").render(lang=lang, t=TEXT[lang], **data)


def statement_excel(ledger: Ledger, customer_id: str, as_of, path: str | Path,
                    language: str | None = None) -> Path:
    """The statement of account as an Excel workbook (written atomically)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    data = statement_data(ledger, customer_id, as_of)
    lang = language or customer_language(ledger, customer_id)
    t = TEXT[lang]
    wb = Workbook()
    ws = wb.active
    ws.title = t["statement_title"][:31]
    ws.append([t["statement_title"], data["customer"]["name"], data["customer"]["customer_id"]])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([t["as_of"], data["as_of"], t["currency"], data["currency"]])
    ws.append([])
    ws.append([t["invoice"], t["invoice_date"], t["due_date"], t["open"], t["days_past_due"], t["bucket"]])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    digits = 0 if data["currency"] == "JPY" else 2
    fmt = "#,##0" if digits == 0 else "#,##0.00"
    for r in data["items"]:
        ws.append([r["invoice_id"], r["invoice_date"], r["due_date"],
                   r["open_minor"] / 10 ** digits, r["days_past_due"], r["bucket"]])
        ws.cell(row=ws.max_row, column=4).number_format = fmt
    ws.append([t["total_open"], "", "", sum(r["open_minor"] for r in data["items"]) / 10 ** digits])
    ws.cell(row=ws.max_row, column=4).number_format = fmt
    ws.append([])
    ws.append([t["aging"]] + [b["label"] for b in data["buckets"]])
    ws.append([""] + [b["minor"] / 10 ** digits for b in data["buckets"]])
    for c in range(2, 2 + len(data["buckets"])):
        ws.cell(row=ws.max_row, column=c).number_format = fmt
    for col, width in zip("ABCDEF", (16, 14, 14, 14, 12, 10)):
        ws.column_dimensions[col].width = width
    path = Path(path)
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return path


def dunning_letter(ledger: Ledger, customer_id: str, as_of, stage: str = "friendly",
                   language: str | None = None, collector: str | None = None) -> str:
    """A dunning letter for the customer's past-due invoices (due-soon ones for ``reminder``)."""
    if stage not in LETTER_STAGES:
        raise ValueError(f"stage must be one of {', '.join(LETTER_STAGES)}; got {stage!r}")
    data = statement_data(ledger, customer_id, as_of)
    lang = language or customer_language(ledger, customer_id)
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}; got {lang!r}")
    t = dict(TEXT[lang])
    subject, body, closing = t.pop("stages")[stage]
    t.update({"subject": subject, "body": body, "closing": closing})
    if stage == "reminder":
        items = [i for i in data["items"] if -10 <= i["days_past_due"] <= 0]
    else:
        items = [i for i in data["items"] if i["days_past_due"] > 0]
    if not items:
        raise ValueError(f"customer '{customer_id}' has no "
                         f"{'invoices falling due' if stage == 'reminder' else 'past-due invoices'} "
                         f"on {data['as_of']}: no {stage} letter to send")
    cur = data["currency"]
    total = format_amount(sum(i["open_minor"] for i in items), cur, thousands=True)
    if collector is None and "collector" in ledger.customers:
        # the collector in force on the letter's date (customer_changes); the master's
        # current one when the date is today, none when a past date's is unknown
        from .master import master_values
        got, known, _ = master_values(ledger, "collector", [customer_id], data["as_of"])
        collector = got[0] if known[0] and not pd.isna(got[0]) else ""
    return _env.get_template("letter.html.j2").render(
        lang=lang, t=t, customer=data["customer"], items=items, currency=cur,
        total_past_due=total, date=data["as_of"], collector=collector or "",
        letterhead=LETTERHEAD)


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
