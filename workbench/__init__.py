"""Collections Workbench: AR collections and credit analysis on exact, validated ledgers."""

__version__ = "0.1.0"

from .ledger import Ledger, LedgerError, Problem, validate_folder  # noqa: E402

__all__ = ["__version__", "Ledger", "LedgerError", "Problem", "validate_folder"]
