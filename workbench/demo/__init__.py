"""A seeded synthetic AR ledger with ground truth, from tiny (tests) to millions of invoices.

The generator draws each customer's payment habit (prompt, slow, chronically late,
deteriorating, defaulting to write-off), then each invoice's fate (disputes and credit
memos, returns, partial payments, write-offs and recoveries), groups the payments a
customer makes on one day into one receipt (so one receipt often pays several invoices),
and writes what a bank and an ERP would show. The bank side has the mess of real
payments: sister companies whose names differ only by the legal suffix, names that share
words, payer names upper-cased, misspelt, "PAYMENT FROM ..." and cut at a wire's 35
characters; invoice numbers as people type them (``INV 4012/4015``, ``INV2026004012``,
``#004012``, lower case, PO numbers mixed in, lists joined by spaces, commas, slashes or
semicolons) or none; wires short by a bank fee; overpayments; unknown payers; and the
last days' cash not yet applied.

The customer master has a history (``customer_changes``): each customer recorded at
onboarding (credit limit from the purchases expected then), credit reviews on the
anniversaries from the trailing year's purchases, suspensions and closures on their dates,
temporary credit holds, segment changes and collector reassignments; the ``customers`` row
holds the values in force at the end. It draws from its own stream (``[seed, 13]``).

``truth/`` keeps what really happened: the true receipt -> invoice applications, each
receipt's kind, each invoice's true pay date (even after the ledger's end), which
customers defaulted and when, which promises were kept. Everything is vectorised with
numpy; the same seed gives the same ledger, byte for byte. The payment noise draws from
a second stream (``[seed, 9]``), so the tables it does not touch are the same as without it.

Two profiles (``DemoConfig.profile``). ``"clean"`` (the default, what ``make report`` runs
on) keeps each customer's habit for good: customers are consistent, histories long,
outcomes learnable. ``"noisy"`` pays as real ledgers do (see ``_noisy_customers`` and
``_noisy_pay_days``): habits differ from customer to customer inside each kind, some
customers switch habits on a date (a prompt payer turns slow, a late payer improves after
a collections push), one-off delays (a lost invoice, an approval loop, a holiday) and
early payments hit otherwise steady payers, quarter ends and December slow payments down,
invoices per customer are skewed (many thin customers, a few large ones; some join late,
some stop buying), few customers default, and every invoice carries noise no ledger
column explains. Its draws come from a stream of their own (``[seed, 21]``): the clean
profile stays what it was, byte for byte; the truth files record every noise term.

The package: :mod:`.names`, :mod:`.generator`, :mod:`.noisy`, :mod:`.tables`, :mod:`.write`.
"""

from __future__ import annotations

from .generator import generate  # noqa: F401
from .names import BEHAVIOURS, PROFILES, DemoConfig  # noqa: F401
from .noisy import _limit_minor  # noqa: F401
from .write import write_demo  # noqa: F401

__all__ = ["DemoConfig", "generate", "write_demo", "BEHAVIOURS", "PROFILES"]
