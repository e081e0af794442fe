"""ipywidgets components for the Voila pages (notebooks/apps/)."""

from .adjustments_review import AdjustmentsReviewApp
from .cash_review import CashReviewApp
from .collections_dashboard import CollectionsDashboardApp
from .credit_review import CreditReviewApp

__all__ = ["AdjustmentsReviewApp", "CreditReviewApp", "CollectionsDashboardApp", "CashReviewApp"]
