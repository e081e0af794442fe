"""Payment risk: point-in-time features, a calibrated model of paying late, days to pay,
scores for open items, the 13-week cash forecast with its backtest, and the model card.

Point in time, by construction: every customer-history feature of a row is read off
event streams (invoices issued, invoices settled, payments, disputes, promises, bureau
reports) at the row's as-of time, counting only events dated strictly before it. For
training the as-of time is the invoice's issue date; for scoring, the scoring date. The
test suite recomputes features on a ledger cut at the as-of date and finds them equal.

The package: :mod:`.features`, :mod:`.training`, :mod:`.use`.
"""

from __future__ import annotations

from .features import FEATURES, _days, _Streams, invoice_features, settlement  # noqa: F401
from .training import (  # noqa: F401
           MAX_TRAIN_ROWS,
           RiskModel,
           load_model,
           risk_policy,
           save_model,
           train,
           training_frame,
)
from .use import (  # noqa: F401
           _expected_minor,
           backtest_forecast,
           cash_forecast,
           customer_risk,
           evaluate_open_items,
           model_card,
           score_open_items,
)

__all__ = ["FEATURES", "invoice_features", "settlement", "training_frame", "train",
           "RiskModel", "load_model", "score_open_items", "cash_forecast", "backtest_forecast",
           "model_card", "customer_risk", "evaluate_open_items"]

# saved models name the class where they always found it (workbench.risk.RiskModel), so a
# model saved before or after this package split loads in either
RiskModel.__module__ = __name__
