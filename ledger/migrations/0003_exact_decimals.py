"""Price and quantity keep every digit on SQLite too (fixed-width text there; PostgreSQL keeps
``numeric(20, 8)`` and nothing changes on it)."""

from decimal import Decimal

from django.db import migrations

import ledger.fields


def rewrite_as_fixed_text(apps, schema_editor):
    """SQLite copied the old float values into the text column as they were ("187.25",
    "100000000000.0"): write them in the column's fixed-width form."""
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    Trade = apps.get_model("ledger", "Trade")
    price = Trade._meta.get_field("price")
    quantity = Trade._meta.get_field("quantity")
    table = connection.ops.quote_name(Trade._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, price, quantity FROM {table}")
        rows = cursor.fetchall()
        for pk, old_price, old_quantity in rows:
            cursor.execute(
                f"UPDATE {table} SET price = %s, quantity = %s WHERE id = %s",
                [
                    price.get_db_prep_save(_exact(old_price), connection),
                    quantity.get_db_prep_save(_exact(old_quantity), connection),
                    pk,
                ],
            )


_LARGEST = Decimal("999999999999.99999999")


def _exact(value) -> Decimal:
    # A float that lost digits is rounded to the 8 places the column allows; the largest price
    # came back from the float as 1e12, one past the range.
    return min(Decimal(str(value)).quantize(Decimal("1e-8")), _LARGEST)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_owner_index_from_composites")]

    operations = [
        migrations.AlterField(
            model_name="trade",
            name="price",
            field=ledger.fields.ExactDecimalField(decimal_places=8, max_digits=20),
        ),
        migrations.AlterField(
            model_name="trade",
            name="quantity",
            field=ledger.fields.ExactDecimalField(decimal_places=8, max_digits=20),
        ),
        migrations.RunPython(rewrite_as_fixed_text, migrations.RunPython.noop),
    ]
