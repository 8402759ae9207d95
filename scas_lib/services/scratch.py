"""Scratch folders: where a task keeps footage and renders while it works.

They live in ``<data_dir>/tmp/`` (0700, like the rest of the data directory), named after
what they hold (``scas-segment-*``, ``scas-render.<event>.<visitor>.*``), so they can be found. A
folder is removed when its task ends; one left by a killed task is *stale*: its owner held
a lock on the folder's ``.owner`` file, which the kernel releases when the owner dies,
whatever killed it. Stale folders are removed whenever a new one is made, and when a
visitor is forgotten (with that visitor's own folders, stale or not).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scas_lib.services.private import private_dir

SEGMENT_PREFIX = "scas-segment-"
_OWNER = ".owner"
#: A folder still without its owner file is being made, unless it is older than this.
_BIRTH_S = 60.0


def render_prefix(event_id: str, visitor_id: str) -> str:
    """The prefix of the scratch folders of one visitor's renders. Ids never hold a dot,
    so forgetting ``ana`` of one event matches neither ``ana-2`` nor ``ana`` of another.

    >>> render_prefix("expo", "ana")
    'scas-render.expo.ana.'
    """
    return f"scas-render.{event_id}.{visitor_id}."


def scratch_root(data_dir: Path) -> Path:
    return private_dir(data_dir / "tmp")


def soundtrack_cache(data_dir: Path) -> Path:
    """Where rendered soundtracks are kept for the next video of the same length (music
    only, nothing of a visitor: :func:`scas_lib.highlights.sound.make_soundtrack`)."""
    return private_dir(private_dir(data_dir / "cache") / "soundtracks")


@contextmanager
def scratch_dir(data_dir: Path, prefix: str) -> Iterator[Path]:
    """A new private folder for the duration of a block, removed afterwards (stale ones
    of earlier tasks first)."""
    root = scratch_root(data_dir)
    remove_stale(root)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=root))  # 0700
    # Locked before it takes its name: an owner file another process finds is held.
    owner = os.open(path / f"{_OWNER}.new", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(owner, fcntl.LOCK_EX)
        os.rename(path / f"{_OWNER}.new", path / _OWNER)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(owner)


def remove_stale(root: Path, prefix: str = "scas-") -> list[Path]:
    """Remove the folders under ``root`` whose owner is gone; return them."""
    removed = []
    for path in root.glob(f"{prefix}*"):
        if _is_stale(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def remove_all(root: Path, prefix: str) -> list[Path]:
    """Remove every folder starting with ``prefix``, its task running or not (a running
    task then fails, and publishes nothing of what it was making)."""
    found = list(root.glob(f"{prefix}*"))
    for path in found:
        shutil.rmtree(path, ignore_errors=True)
    return found


def _is_stale(path: Path) -> bool:
    try:
        owner = os.open(path / _OWNER, os.O_RDONLY)
    except FileNotFoundError:
        try:
            return time.time() - path.stat().st_mtime > _BIRTH_S
        except FileNotFoundError:
            return False
    try:
        fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(owner)
    return True
