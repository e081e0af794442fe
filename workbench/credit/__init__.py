"""Credit evaluation: the analysis of a customer as of a date, the scorecard trained on
the ledger's own history, the credit policy, the limit recommendation, decisions with
approval authority, and the credit file.

Point in time: a financial statement counts from its period end plus the policy's
reporting lag; bureau reports and trade references from their report date; internal
history only up to the as-of date.

The package: :mod:`.policy`, :mod:`.analysis`, :mod:`.features`, :mod:`.recommendation`, :mod:`.decisions`.
"""

from __future__ import annotations

from .analysis import (  # noqa: F401
           customer_analysis,
           financial_ratios,
           history_frame,
           in_customer_currency,
)
from .decisions import (  # noqa: F401
           credit_file_html,
           html_to_pdf,
           limit_history,
           load_scorecard,
           portfolio,
           record_decision,
           review_queue,
           save_scorecard,
)
from .features import (  # noqa: F401
           FEATURES,
           feature_frame,
           review_dates,
           standard_scorecard,
           train_scorecard,
           training_set,
)
from .policy import CREDIT_SPEC, DECISIONS, CreditPolicy, RiskClass, load_credit_policy  # noqa: F401
from .recommendation import recommend, recommendations  # noqa: F401

__all__ = ["CreditPolicy", "load_credit_policy", "financial_ratios", "customer_analysis",
           "FEATURES", "feature_frame", "training_set", "train_scorecard", "recommend",
           "record_decision", "limit_history", "DECISIONS", "credit_file_html", "review_queue",
           "save_scorecard", "load_scorecard", "portfolio", "recommendations", "review_dates",
           "standard_scorecard", "CREDIT_SPEC", "RiskClass", "PolicyError"]
