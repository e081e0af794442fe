"""ipywidgets components for the Voila pages (notebooks/apps/)."""

from .credit_review import CreditReviewApp

__all__ = ["CreditReviewApp"]
