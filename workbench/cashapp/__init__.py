"""Cash application: bank credits -> open invoices, by explainable rules, precision first.

Modules: ``policy`` (thresholds and tolerances), ``text`` (names and references as people
type them), ``engine`` (candidates and matching rules), ``reconcile`` (the run ties to the
cent, or shows its difference), ``run`` (import, match, reconcile, write), ``posting``
(approved lines into the state database, once), ``evaluation`` (scoring against truth).
"""

from .engine import RULES, Matcher, match_receipts
from .evaluation import evaluate, evaluate_by_kind, replay_ledger
from .policy import CashAppPolicy, load_cashapp_policy
from .posting import post_matches
from .reconcile import reconcile
from .run import CashAppRun, repeated_short_pays, run_cashapp, write_run
from .text import normalise_name, reference_keys

__all__ = ["CashAppPolicy", "load_cashapp_policy", "Matcher", "match_receipts", "evaluate",
           "evaluate_by_kind", "replay_ledger", "normalise_name", "reference_keys", "RULES",
           "reconcile", "CashAppRun", "run_cashapp", "write_run", "post_matches",
           "repeated_short_pays"]
