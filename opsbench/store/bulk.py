"""Insert many rows at driver speed: COPY on PostgreSQL, executemany on SQLite.

A 10,000-trial job is some 70,000 rows; SQLAlchemy's per-row parameter handling would cost
more than the database. Values still go through each column type's bind processor (the
same conversion SQLAlchemy's own insert applies: JSON serialised, datetimes in SQLite's
format), so rows read back exactly as if inserted through Core.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def bulk_insert(conn: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) into `table` in the caller's transaction."""
    if not rows:
        return
    columns = list(rows[0])
    dialect = conn.dialect
    processors: list[Callable[[Any], Any] | None] = [
        table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns
    ]
    tuples = [
        tuple(v if p is None else p(v) for v, p in zip(row.values(), processors, strict=True))
        for row in rows
    ]
    names = ", ".join(columns)
    if dialect.name == "postgresql":
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for t in tuples:
                    copy.write_row(t)
        finally:
            cursor.close()
        return
    marks = ", ".join("?" for _ in columns)
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", tuples)
