"""Model fields of the ledger."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import models


class ExactDecimalField(models.DecimalField):
    """A ``DecimalField`` that keeps every digit on every database.

    PostgreSQL stores it as ``numeric(max_digits, decimal_places)``. SQLite has no decimal
    type: a plain ``DecimalField`` goes through a 64-bit float there and keeps 15-17 significant
    digits, so ``123456789.12345678`` would come back as ``123456789.123457``. On SQLite this
    field stores fixed-width text instead, zero-padded to ``max_digits - decimal_places``
    integer digits and ``decimal_places`` fraction digits (``000000000187.25000000``): exact,
    and for the non-negative values it accepts, text order is numeric order, so comparisons
    and ``ORDER BY`` keep working.

    Values must be non-negative, below ``10 ** (max_digits - decimal_places)`` and have at most
    ``decimal_places`` fraction digits; anything else raises ``ValueError`` rather than being
    rounded.
    """

    def get_internal_type(self) -> str:
        # Not "DecimalField": SQLite's backend would read every value through a float
        # converter. Nothing else in Django's backends treats this type specially.
        return "ExactDecimalField"

    def db_type(self, connection) -> str:
        if connection.vendor == "sqlite":
            return f"varchar({self.max_digits + 1})"
        return connection.data_types["DecimalField"] % self.db_type_parameters(connection)

    def cast_db_type(self, connection) -> str:
        return self.db_type(connection)

    def _text(self, value: Decimal) -> str:
        integer_digits = self.max_digits - self.decimal_places
        if value.is_signed() and value != 0:
            raise ValueError(f"{value} is negative; this column stores values >= 0")
        if value >= Decimal(10) ** integer_digits:
            raise ValueError(f"{value} has more than {integer_digits} integer digits")
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > self.decimal_places:
            normal = value.normalize()
            exponent = normal.as_tuple().exponent
            if isinstance(exponent, int) and -exponent > self.decimal_places:
                raise ValueError(f"{value} has more than {self.decimal_places} decimal places")
        return format(abs(value), f"0{self.max_digits + 1}.{self.decimal_places}f")

    def get_db_prep_value(self, value, connection, prepared=False):
        if not prepared:
            value = self.get_prep_value(value)
        if value is None or hasattr(value, "as_sql"):
            return value
        if connection.vendor == "sqlite":
            return self._text(value)
        return connection.ops.adapt_decimalfield_value(value, self.max_digits, self.decimal_places)

    def from_db_value(self, value, expression, connection):
        if value is None or isinstance(value, Decimal):
            return value
        if isinstance(value, float):
            # Only an aggregate over the text column on SQLite produces a float.
            return Decimal(repr(value))
        try:
            return Decimal(value)
        except InvalidOperation:
            raise ValueError(f"not a decimal in the database: {value!r}") from None
