"""Bring a staging store's schema up to the code's, with Alembic, whenever it is opened.

The migrations are in `migrations/versions/`, one file per change of the schema in
`schema.py` (alembic.ini beside this file says how to write a new one; never edit an old
one). A store made before migrations existed has the tables of the first revision and no
version: it is stamped with that revision, then upgraded like any other.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001"
# A table every store has had since before migrations existed.
BASELINE_TABLE = "candidates"


@cache
def newest_revision() -> str:
    """The newest revision in migrations/versions/, from the file names (NNNN_name.py: the
    revision is NNNN; tests/test_store_migrations.py checks it is Alembic's head). A store
    already there opens without loading Alembic, which with reading the migration scripts
    took a fifth of a one-paper `extract` command."""
    versions = (MIGRATIONS / "versions").glob("[0-9]*_*.py")
    return max(path.name.split("_", 1)[0] for path in versions)


def _alembic_config(connection: Connection):  # -> alembic.config.Config
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _stored_revision(connection: Connection) -> str | None:
    """The revision stamped in the store, read without Alembic (None when there is none)."""
    if "alembic_version" not in inspect(connection).get_table_names():
        return None
    versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
    found = list(versions)
    return found[0] if len(found) == 1 else None


def migrate(engine: Engine) -> str:
    """Upgrade the store to the newest schema, in one transaction; its revision after."""
    with engine.connect() as connection:
        if _stored_revision(connection) == newest_revision():
            return newest_revision()
    from alembic import command

    with engine.begin() as connection:
        config = _alembic_config(connection)
        current = current_revision(connection)
        if current is None and BASELINE_TABLE in inspect(connection).get_table_names():
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")
        return current_revision(connection) or newest_revision()
