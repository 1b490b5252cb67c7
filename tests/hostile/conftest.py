"""Fixtures of the hostile-input tests: one real ``terrain serve`` process per xdist worker (started on
first use, stopped at the end of the session). These tests do not use ``db_url``: they run once, on
SQLite, and carry the ``hostile`` marker (``pytest -m "not hostile"`` skips them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hostile.harness import Server, start_server


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "hostile: hostile input against a real server process (tests/hostile, run once)"
    )


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("hostile-server"))
    try:
        yield running
    finally:
        running.stop()
