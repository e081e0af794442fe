"""Bad-debt reserve (allowance for doubtful accounts): methods, roll-forward, journal entry,
backtest.

>>> from workbench import Ledger
>>> from workbench.reserve import reserve_analysis
>>> result = reserve_analysis(Ledger.load("data/demo"), "2026-09-30")      # doctest: +SKIP
>>> result.methods, result.journal_entry, result.to_dict()                  # doctest: +SKIP

Pooled methods (each on the open items left after the specific reserves):
:func:`provision_matrix`, roll rates (:func:`transition_matrix`,
:func:`absorbing_loss_rates`, :func:`roll_rate_reserve`), vintage loss rates
(:func:`vintage_table`, :func:`lifetime_loss_curve`, :func:`vintage_loss_rate`,
:func:`vintage_reserve`) and the payment-risk model's :func:`expected_loss_model`; then
:func:`specific_reserves` and :func:`qualitative_adjustments`. The allowance account is
reconciled by :func:`rollforward` (:func:`reconcile_rollforward` on plain frames) and the
methods are judged by :func:`backtest`. Money is int64 minor units; each reserve figure is
rounded once, half to even.
"""

from .analysis import ReserveResult, reserve_analysis
from .backtest import backtest, quarter_ends_before
from .common import customers_as_of
from .expected import expected_loss_model, qualitative_adjustments
from .history import History, build_history
from .matrix import (absorbing_loss_rates, fundamental_matrix, provision_matrix, roll_rate_flows,
                     roll_rate_reserve, transition_matrix)
from .policy import METHODS, ReservePolicy, load_reserve_policy
from .rollforward import reconcile_rollforward, rollforward, subledger_write_offs
from .specific import specific_reserves
from .vintage import lifetime_loss_curve, vintage_loss_rate, vintage_reserve, vintage_table

__all__ = ["reserve_analysis", "ReserveResult", "backtest", "quarter_ends_before",
           "customers_as_of", "expected_loss_model", "qualitative_adjustments", "History",
           "build_history", "provision_matrix", "roll_rate_flows", "transition_matrix",
           "absorbing_loss_rates", "fundamental_matrix", "roll_rate_reserve", "METHODS", "ReservePolicy",
           "load_reserve_policy", "rollforward", "reconcile_rollforward", "subledger_write_offs",
           "specific_reserves", "vintage_table", "lifetime_loss_curve", "vintage_loss_rate",
           "vintage_reserve"]
