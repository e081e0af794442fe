"""The policy toolkit: versioned YAML policies read, typed and checked in one place.

A policy is data (``workbench/policies/*.yaml`` ships the defaults); every report names
the policy name and version it ran with. Each policy declares its keys once, as a tree of
typed fields (:class:`Whole`, :class:`Number`, :class:`Percent`, :class:`Text`,
:class:`Flag`, :class:`Money`, :class:`Section`, :class:`Items`, :class:`MapOf`), in a
:class:`PolicySpec`; :meth:`PolicySpec.read` types the whole file and collects **every**
problem (wrong type, out of range, missing, unknown key), each named by file and key
path, and the loader adds its cross-field checks to the same list before one
:class:`PolicyError` reports them together::

    credit.yaml: risk_classes[C].max_limit: expected an amount with its currency, got 'abc'
    credit.yaml: version: missing (required: every policy states its version, ...)

Every policy needs ``name`` and ``version``; ``description`` is optional.

Amounts of money
----------------
An amount in a policy is given per currency, each read through :mod:`workbench.money`
with that currency's ISO 4217 decimals (:class:`Amounts`)::

    max_balance: {USD: "25.00", EUR: "25.00", JPY: "3000", KWD: "8.000"}
    max_limit: "500000.00 USD"                  # one amount in one currency
    max_limit: {amount: "500000.00", currency: USD}

A ledger currency an amount does not list is an error (:meth:`Amounts.minor`,
:func:`check_currencies`), unless the policy says ``currency_conversion: fx_rates``: then
the amount of its first listed currency is converted at the ledger's ``fx_rates`` rate on
the as-of date (:meth:`workbench.ledger.Ledger.fx_rate`, one rounding half to even). A
``default`` entry (older policies) is the amount for any unlisted currency read in that
currency's own units (``"25.00"`` is 25.000 KWD, and no amount in JPY at all).

The toolkit is three modules: :mod:`.fields` (reading a file, the problem list, the field
types), :mod:`.amounts` (amounts per currency and their resolution for a ledger) and
:mod:`.spec` (:class:`PolicySpec`, :class:`PolicyDoc`).
"""

from .amounts import Amounts, Money, check_currencies, resolve_all, resolve_amounts
from .fields import (CONVERSIONS, INVALID, Custom, Flag, Items, MapOf, Number, Percent,
                     PolicyError, Problems, Section, Spec, Text, Whole, read_policy)
from .spec import PolicyDoc, PolicySpec

__all__ = ["PolicyError", "read_policy", "PolicySpec", "PolicyDoc", "Problems", "Spec", "Whole",
           "Number", "Percent", "Text", "Flag", "Money", "Section", "Items", "MapOf", "Custom",
           "Amounts", "check_currencies", "resolve_amounts", "resolve_all", "CONVERSIONS",
           "INVALID"]
