"""Writes to the ledger. Each public function is one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Field
from django.utils import timezone

from ledger.models import Trade
from tradepulse.trades import clean_trade

BULK_BATCH_SIZE = 2000
# Every column of the trade table, from the model (the one declaration of what is stored).
_STORED = tuple(Trade._meta.concrete_fields)


def _column(field: Field) -> str:
    """A concrete field's column (always set once the model class is built)."""
    assert field.column, field
    return field.column


COPY_COLUMNS = tuple(_column(field) for field in _STORED)


def trade_create(
    *, owner, data: Mapping[str, Any], source: str = Trade.Source.API, source_ref: str = ""
) -> Trade:
    """Validate ``data`` and store one trade. Raises ``TradeFieldErrors`` on bad input."""
    trade = _new_trade(owner, clean_trade(data), source, timezone.now(), source_ref)
    trade.pk = _insert_one(trade)
    trade._state.adding = False
    trade._state.db = DEFAULT_DB_ALIAS
    return trade


def _new_trade(owner, fields: Mapping[str, Any], source: str, now, source_ref: str = "") -> Trade:
    """An unsaved trade from cleaned fields, stamped ``now`` when it has no timestamp."""
    return Trade(
        **{
            **fields,
            "owner": owner,
            "source": source,
            "source_ref": source_ref,
            "created_at": now,
            "updated_at": now,
            "timestamp": fields.get("timestamp") or now,
        }
    )


_INSERTED = tuple(field for field in _STORED if not field.primary_key)


def _insert_one(trade: Trade) -> int:
    """One plain ``INSERT ... RETURNING id`` for the hot path of the API.

    The values are validated already, so the ORM's save machinery (signals, field pre-save,
    SQL compilation per request) would only add cost. One statement is atomic by itself. The
    fields are given the connection itself, not the ``connection`` proxy, which looks the
    thread's connection up again on every attribute.
    """
    conn = connections[DEFAULT_DB_ALIAS]
    values = [field.get_db_prep_save(getattr(trade, field.attname), conn) for field in _INSERTED]
    sql, returning = _insert_statement()
    with conn.cursor() as cursor:
        cursor.execute(sql, values)
        return cursor.fetchone()[0] if returning else cursor.lastrowid


@cache
def _insert_statement() -> tuple[str, bool]:
    """The statement of :func:`_insert_one`, and whether it returns the id. Made once: the
    database does not change in a process."""
    conn = connections[DEFAULT_DB_ALIAS]
    quote = conn.ops.quote_name
    columns = ", ".join(quote(_column(field)) for field in _INSERTED)
    sql = (
        f"INSERT INTO {quote(Trade._meta.db_table)} ({columns}) "
        f"VALUES ({', '.join(['%s'] * len(_INSERTED))})"
    )
    if conn.features.can_return_columns_from_insert:
        return f"{sql} RETURNING {quote('id')}", True
    return sql, False


def trade_update(*, trade: Trade, data: Mapping[str, Any], partial: bool) -> Trade:
    """Validate and apply changes; a full update without ``timestamp`` keeps the stored one."""
    fields = clean_trade(data, partial=partial)
    for name, value in fields.items():
        setattr(trade, name, value)
    with transaction.atomic():
        trade.save(update_fields=[*fields, "updated_at"])
    return trade


def trade_delete(*, trade: Trade) -> None:
    with transaction.atomic():
        trade.delete()


def trades_store(
    *,
    owner,
    cleaned: Iterable[Mapping[str, Any]],
    source: str = Trade.Source.API,
    count: int | None = None,
) -> list[int]:
    """Insert validated trades in one transaction (all or nothing); return their ids.

    ``cleaned`` may be a generator that validates as it goes and raises on bad input: the
    exception aborts the insert and nothing is stored. On PostgreSQL the rows stream through
    ``COPY`` (ids drawn from the sequence first; ``count`` is how many to draw, when
    ``cleaned`` has no length), so the database indexes one chunk while the next is validated;
    elsewhere they go through ``bulk_create``.
    """
    if connection.vendor == "postgresql":
        if count is None:
            cleaned = list(cleaned)
            count = len(cleaned)
        return _copy_trades(owner, cleaned, source, count)
    now = timezone.now()
    objs = [_new_trade(owner, row, source, now) for row in cleaned]
    with transaction.atomic():
        created = Trade.objects.bulk_create(objs, batch_size=BULK_BATCH_SIZE)
    return [t.pk for t in created]


_SEQUENCES: dict[str, str] = {}


def _draw_ids(cursor, table: str, count: int) -> list[int]:
    """``count`` ids from the table's sequence, in one round trip and one array.

    The sequence is named as a constant: ``nextval()`` given a computed ``regclass`` looks the
    relation up again on every call, which costs more than drawing the values.
    """
    sequence = _SEQUENCES.get(table)
    if sequence is None:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        sequence = _SEQUENCES[table] = cursor.fetchone()[0]
    literal = sequence.replace("'", "''")
    cursor.execute(f"SELECT array_agg(nextval('{literal}')) FROM generate_series(1, %s)", [count])
    return cursor.fetchone()[0]


def _copy_text(value) -> str:
    """A validated value as COPY text (validated text fields hold no tab, newline or backslash)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _copy_trades(owner, rows: Iterable[Mapping[str, Any]], source: str, count: int) -> list[int]:
    if not count:
        return []
    now = timezone.now()
    table = Trade._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        ids = _draw_ids(cursor, table, count)
        # Every text field here is validated (symbols, sides, sources contain no tab,
        # newline or backslash), so rows can be written as COPY text without escaping.
        stamp = now.isoformat()
        # Each line is the model's columns in order: the cleaned fields, and what every row of
        # this request shares (owner, source, stamps, and each other column's default).
        shared = {
            field.attname: _copy_text(field.get_default())
            for field in _STORED
            if field.has_default()
        }
        shared.update(
            owner_id=str(owner.pk),
            source=source,
            source_ref="",
            created_at=stamp,
            updated_at=stamp,
            timestamp=stamp,
        )
        line = "\t".join(f"{{{field.attname}}}" for field in _STORED) + "\n"
        written = 0
        chunk: list[str] = []
        with cursor.copy(f"COPY {table} ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy:
            for trade_id, row in zip(ids, rows, strict=False):
                values = dict(shared, id=trade_id)
                for name, value in row.items():
                    if value is not None:
                        values[name] = _copy_text(value)
                chunk.append(line.format_map(values))
                if len(chunk) == 1000:
                    copy.write("".join(chunk))
                    written += len(chunk)
                    chunk.clear()
            if chunk:
                copy.write("".join(chunk))
                written += len(chunk)
    return ids[:written]
