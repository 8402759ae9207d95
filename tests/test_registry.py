"""The pinned-file fetcher (scas_lib/provisioning/registry.py) on real files at ``file:``
addresses: what it keeps is what was pinned, and a file whose checksum differs is refused."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from scas_lib.provisioning.registry import PinnedUrl, RegistryError, fetch_url


def test_a_pinned_address_is_fetched_once_and_a_changed_file_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "axe-core.tgz"
    source.write_bytes(b"the registry's tarball")
    pinned = PinnedUrl(
        source.as_uri(), "axe-core.tgz", hashlib.sha256(source.read_bytes()).hexdigest()
    )
    cache = tmp_path / "cache"
    fetched = fetch_url(pinned, cache)
    assert fetched == cache / "axe-core.tgz"
    assert fetched.read_bytes() == b"the registry's tarball"
    # Cached: the address is not asked again (it is gone).
    source.unlink()
    assert fetch_url(pinned, cache) == fetched

    source.write_bytes(b"a tampered tarball")
    fetched.unlink()
    with pytest.raises(RegistryError, match="refusing it"):
        fetch_url(pinned, cache)
    assert list(cache.iterdir()) == []  # nothing of the refused file is kept
