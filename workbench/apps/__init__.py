"""ipywidgets components for the Voila pages (notebooks/apps/)."""

from .collections_dashboard import CollectionsDashboardApp
from .cash_review import CashReviewApp
from .credit_review import CreditReviewApp

__all__ = ["CreditReviewApp", "CollectionsDashboardApp", "CashReviewApp"]
