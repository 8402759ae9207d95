"""The fast tier (``make test-fast``, ``pytest -m fast``): the doctests and every test that
needs no server, no model, no sample photo and no browser, marked here from the fixtures it
asks for, so a new test joins the tier of what it really uses without a marker to forget."""

from __future__ import annotations

import pytest

#: The fixtures that start a real server, fetch models or photos, or open a browser
#: (tests/conftest.py, tests/web/conftest.py): a test that asks for one, even through another
#: fixture, is not fast.
SLOW_FIXTURES = frozenset(
    {"services_dir", "asset_cache", "events_dir", "web", "browser", "screenshots"}
)
#: Test modules whose tests start programs of their own (ffmpeg, Airflow, an RTSP camera)
#: without a fixture saying so.
SLOW_MODULES = frozenset(
    {
        "test_cli.py",
        "test_deployment.py",
        "test_embedded_services.py",
        "test_ingest.py",
        "test_real_footage.py",
        "test_serve.py",
    }
)


def is_fast(item: pytest.Item) -> bool:
    """A doctest, or a test that asks for no slow fixture and lives in no slow module."""
    if isinstance(item, pytest.DoctestItem):
        return True
    fixtures = set(getattr(item, "fixturenames", ()))
    return not fixtures & SLOW_FIXTURES and item.path.name not in SLOW_MODULES


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if is_fast(item):
            item.add_marker(pytest.mark.fast)
