"""Alembic environment of the job store, run by :func:`tasks.training.schema.migrate`.

The caller hands over an open connection already inside a transaction (holding the
migration lock: ``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so every
process that opens a store at once upgrades it exactly once and a failed upgrade rolls back.
Offline (``--sql``) mode is not supported: stores are upgraded in place when opened.

Example:
    >>> from tasks.training.schema import open_engine
    >>> engine = open_engine("sqlite://")  # runs this environment up to head
"""

from __future__ import annotations

from alembic import context

from tasks.training.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable by running alembic by hand
    raise RuntimeError(
        "the job store's migrations run when a store is opened "
        "(tasks.training.schema.open_engine), not from the alembic command line"
    )
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things in place: batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
