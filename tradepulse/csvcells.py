"""Spreadsheet-safe CSV cells (CSV, or "formula", injection).

A spreadsheet evaluates a cell that begins with ``=``, ``+``, ``-`` or ``@`` (and, in some, a
tab or carriage return) as a formula: a user named ``+1+1`` would show up as ``2`` in an
opened export, and worse formulas can reach the network. Following OWASP, such a cell is
written with a leading ``'``, which spreadsheets take as "text" and hide.

A plain number (``-12.5``, ``+3``) is left alone: it is a number, not a formula, and a negative
value must stay a number for whoever sums the column. Every CSV TradePulse writes passes its
text columns (user names, tickers, sides, sources, error messages) through ``escape_cell``;
the PostgreSQL export, which lets the database format rows, applies the same rule in SQL
(``escape_cell_sql``). No stored user name can begin with ``'`` (Django's user-name rule), so
the escaped form is never ambiguous.
"""

from __future__ import annotations

import re

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_PLAIN_NUMBER_SQL = r"^[+-]?[0-9]+(\.[0-9]+)?$"


def escape_cell(value):
    """``value`` with a ``'`` in front if a spreadsheet would run it as a formula.

    Anything that is not a string (an int, None) is returned as it is.
    """
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_TRIGGERS)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def escape_cell_sql(expression: str) -> str:
    """The PostgreSQL expression doing to the text ``expression`` what ``escape_cell`` does."""
    triggers = ", ".join(
        "E'" + c.replace("\t", "\\t").replace("\r", "\\r") + "'" for c in FORMULA_TRIGGERS
    )
    return (
        f"CASE WHEN left({expression}, 1) IN ({triggers}) "
        f"AND {expression} !~ '{_PLAIN_NUMBER_SQL}' "
        f"THEN '''' || {expression} ELSE {expression} END"
    )
