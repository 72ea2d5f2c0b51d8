"""Open the store: an engine for the URL, migrated to the head revision on every open.

An older store file is upgraded in place by the Alembic migrations shipped in
`opsbench/store/migrations/`. A store already at the head costs one query. Migrations run
under a lock (SQLite's write lock, a PostgreSQL advisory lock) so two processes opening a
new store at once do not both create it. Any failure to reach or open the database is
one `StoreError` line, with the password masked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, Engine, make_url

from opsbench.errors import OpsbenchError
from opsbench.store.location import sqlite_file, store_url

log = logging.getLogger(__name__)

HEAD_REVISION = "0004"
"""The newest migration; a test checks it against the scripts."""
MIGRATIONS = Path(__file__).with_name("migrations")
PG_MIGRATION_LOCK = 0x6F707362  # "opsb": the advisory lock taken while migrating
CONNECT_TIMEOUT_SEC = 5


class StoreError(OpsbenchError):
    """The store cannot be reached, opened or written."""


@dataclass
class Store:
    engine: Engine
    url: str

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction that writes; on SQLite it takes the write lock up front so two
        writers queue instead of failing on a lock upgrade."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(opsbench_immediate=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def close(self) -> None:
        self.engine.dispose()


def display_url(url: str | URL) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return str(url)


def open_store(url: str | None = None, *, migrate: bool = True) -> Store:
    """The store at `url` (default: `store_url()`), migrated to the head revision."""
    url = store_url(url)
    try:
        engine = _engine(url)
        store = Store(engine, url)
        if migrate:
            migrate_store(store)
        else:
            with engine.connect():
                pass
    except exc.SQLAlchemyError as error:
        raise StoreError(f"store {display_url(url)}: {_reason(error)}") from None
    except ImportError as error:
        hint = "; PostgreSQL needs the postgres extra (uv sync --extra postgres)"
        raise StoreError(f"store {display_url(url)}: {error}{hint}") from None
    except OSError as error:
        raise StoreError(f"store {display_url(url)}: {error}") from None
    return store


def _reason(error: exc.SQLAlchemyError) -> str:
    orig = getattr(error, "orig", None)
    text = str(orig if orig is not None else error).strip()
    first = text.splitlines()[0] if text else type(error).__name__
    if isinstance(error, exc.OperationalError):
        return f"cannot connect: {first}"
    return first


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 60})
        _sqlite_events(engine)
        return engine
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SEC
    return sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)


def _sqlite_events(engine: Engine) -> None:
    """Foreign keys on (cascading deletes), WAL (readers never block the writer), and
    transactions begun by us, IMMEDIATE for writers (SQLAlchemy's recipe for pysqlite)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("opsbench_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def current_revision(conn: Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def migrate_store(store: Store, revision: str = "head") -> None:
    """Migrate to `revision` unless already there (the common case: one query)."""
    with store.engine.connect() as conn:
        if revision == "head" and current_revision(conn) == HEAD_REVISION:
            conn.rollback()
            return
        conn.rollback()
    with store.write() as conn:
        if store.dialect == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
        _alembic_upgrade(conn, revision)


def _alembic_upgrade(conn: Connection, revision: str) -> None:
    """Run the migrations; Alembic's own INFO chatter (plugins, contexts) stays quiet and
    one line says what changed."""
    from alembic import command
    from alembic.config import Config

    logging.getLogger("alembic").setLevel(logging.WARNING)
    log.info("migrating the results store to revision %s", revision)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    command.upgrade(config, revision)
