"""The fast tier (``make test-fast``, ``pytest -m fast``): the doctests and every test that
needs no server, no model, no sample photo and no browser and starts no program of its own,
marked here. What a test needs is read from the fixtures it asks for, so a new test joins
the tier of what it really uses without a marker to forget; a test that starts a program
(ffmpeg, Airflow, an RTSP camera, the ``scas`` command) says so itself with
``@pytest.mark.programs`` (or a module's ``pytestmark``)."""

from __future__ import annotations

import pytest

#: The fixtures that start a real server, fetch models or photos, or open a browser
#: (tests/conftest.py, tests/web/conftest.py): a test that asks for one, even through another
#: fixture, is not fast.
SLOW_FIXTURES = frozenset(
    {"services_dir", "asset_cache", "events_dir", "web", "browser", "screenshots"}
)


def is_fast(item: pytest.Item) -> bool:
    """A doctest, or a test that asks for no slow fixture and is not marked ``programs``."""
    if isinstance(item, pytest.DoctestItem):
        return True
    fixtures = set(getattr(item, "fixturenames", ()))
    return not fixtures & SLOW_FIXTURES and item.get_closest_marker("programs") is None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if is_fast(item):
            item.add_marker(pytest.mark.fast)
