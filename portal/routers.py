"""Reader pages read from a PostgreSQL streaming replica; everything else uses the primary.

With ``DATABASE_REPLICA_URL`` set, the catalogue's and the shops' tables (search,
book pages, the directory: most of the traffic) are read from the ``replica``
alias. Everything that writes, and every read a person must see their own
writes in, stays on the primary (``default``):

- writes, and reads inside a transaction;
- other apps' tables: reservations (a reader's own page), sessions, users,
  the cache table, the task queue;
- the whole request for the admin, the API and any POST, and the reader's
  next requests for ``READ_YOUR_WRITES_SECONDS`` after a POST
  (``ReplicaRoutingMiddleware``), so that a change is never missing from the
  page that follows it, whatever the replication lag.
"""

import contextvars

from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
#: Apps whose tables may be read from the replica.
REPLICA_APPS = {"catalogue", "bookshops"}

_primary_only = contextvars.ContextVar("primary_only", default=False)


def replica_configured() -> bool:
    return REPLICA in connections.settings


def use_primary(value: bool = True) -> contextvars.Token:
    """Send this context's reads to the primary (until ``reset_primary(token)``)."""
    return _primary_only.set(value)


def reset_primary(token: contextvars.Token) -> None:
    _primary_only.reset(token)


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        if (
            model._meta.app_label in REPLICA_APPS
            and replica_configured()
            and not _primary_only.get()
            and not connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same data on both

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS
