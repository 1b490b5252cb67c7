"""The change feed: numbers handed out in commit order, and the write lock a batch takes first.

A pull reads "every change numbered above my cursor". That is gap-free only if a change numbered N is
never committed after a reader has already seen a change numbered above N. Two rules guarantee it:

* :func:`next_change_seq` increments the one counter row (``UPDATE … RETURNING``): the row stays locked
  until the transaction ends, so the next transaction gets N+1 only after N is committed (PostgreSQL
  row lock; SQLite has one writer anyway). Call it last, just before the commit, to hold the lock briefly.
* :func:`begin_write` on SQLite takes the write lock first (what ``BEGIN IMMEDIATE`` does): reads that
  decide what to write then see the latest state, and a concurrent writer waits (busy timeout) instead
  of failing when its read snapshot turns stale.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

_BUMP = sa.text("UPDATE sync_counter SET value = value + 1 WHERE id = 1 RETURNING value")
_TOUCH = sa.text("UPDATE sync_counter SET value = value WHERE id = 1")


def begin_write(*, session: Session) -> None:
    """Take the database write lock now (SQLite); a no-op on PostgreSQL, which locks rows instead."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(_TOUCH)


def next_change_seq(*, session: Session) -> int:
    """The next change number; the counter row stays locked until this transaction ends."""
    value = session.execute(_BUMP).scalar_one()
    return int(value)


def current_change_seq(*, session: Session) -> int:
    """The last change number handed out (committed or being committed)."""
    value = session.execute(sa.text("SELECT value FROM sync_counter WHERE id = 1")).scalar_one()
    return int(value)
