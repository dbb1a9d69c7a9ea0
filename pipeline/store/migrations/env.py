"""Alembic's environment for the staging store: always run from `pipeline.store.migrate`
with the connection (and its open transaction) of the store being opened."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from pipeline.store.schema import metadata_obj


def run(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Two workers opening a fresh store at once: one migrates, the other waits, then
        # finds nothing left to do.
        connection.execute(text("SELECT pg_advisory_xact_lock(2020060100)"))
    context.configure(
        connection=connection,
        target_metadata=metadata_obj,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if "connection" in context.config.attributes:
    run(context.config.attributes["connection"])
else:  # the alembic command line, for authors: -x db=<path or URL>
    from pipeline.store.store import engine_for

    location = context.get_x_argument(as_dictionary=True).get("db", "metadata/staging.sqlite")
    with engine_for(location).begin() as opened:
        run(opened)
