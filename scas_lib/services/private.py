"""Private folders: SCAS's data is readable by its own user only.

The data directory and every server home in it are 0700, their files 0600. Folders above
the data directory are never widened: under root, where PostgreSQL runs as the system user
``pgserver``, that one user is given the right to pass through (``x``, not list or read) by
a POSIX ACL entry naming it, so no other user gains anything.
"""

from __future__ import annotations

import os
import stat
import struct
from pathlib import Path

# Linux ACL extended attribute (acl_ea.h): a version header, then (tag, perm, id) entries
# sorted by tag and id.
_ACL_XATTR = "system.posix_acl_access"
_ACL_VERSION = 2
_ACL_ENTRY = struct.Struct("<HHI")
_USER_OBJ, _USER, _GROUP_OBJ, _GROUP, _MASK, _OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
_NO_ID = 0xFFFFFFFF
_EXECUTE = 0o1


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600), whole or not at all
    (written beside it, then renamed over it)."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    temporary.replace(path)


def private_dir(path: Path) -> Path:
    """Create ``path`` (missing parents too, 0700) and take group and other permissions off
    it. Group bits that are the mask of an ACL (:func:`grant_traverse`) are left as they are."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    keep = 0o770 if _read_acl(path) else 0o700
    if mode & ~keep & 0o777:
        path.chmod(mode & keep | 0o700)
    return path


def make_private(root: Path) -> None:
    """Take group and other permissions off everything under ``root`` (itself included)."""
    for path in (root, *root.rglob("*")):
        try:
            mode = path.lstat().st_mode
            if not stat.S_ISLNK(mode) and stat.S_IMODE(mode) & 0o077:
                path.chmod(stat.S_IMODE(mode) & 0o700)
        except FileNotFoundError:  # removed meanwhile by the server
            continue


def can_traverse(path: Path, uid: int, gids: set[int]) -> bool:
    """Whether the user may pass through the folder ``path`` by its mode bits or ACL."""
    info = path.stat()
    if uid == 0:
        return True
    entries = _read_acl(path)
    if info.st_uid == uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if entries:
        mask = next((perm for tag, perm, _ in entries if tag == _MASK), 0o7)
        if any(tag == _USER and who == uid for tag, _, who in entries):
            return any(
                tag == _USER and who == uid and perm & mask & _EXECUTE for tag, perm, who in entries
            )
    if info.st_gid in gids:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def grant_traverse(path: Path, uid: int) -> None:
    """Let user ``uid`` pass through ``path`` (an ACL entry ``user:<uid>:--x``), no one else."""
    entries = _read_acl(path) or _acl_from_mode(stat.S_IMODE(path.stat().st_mode))
    users = {who: perm for tag, perm, who in entries if tag == _USER}
    users[uid] = users.get(uid, 0) | _EXECUTE
    kept = [(tag, perm, who) for tag, perm, who in entries if tag not in (_USER, _MASK)]
    kept += [(_USER, perm, who) for who, perm in users.items()]
    group_class = [perm for tag, perm, _ in kept if tag in (_USER, _GROUP_OBJ, _GROUP)]
    mask = 0
    for perm in group_class:
        mask |= perm
    kept.append((_MASK, mask, _NO_ID))
    kept.sort(key=lambda entry: (entry[0], entry[2]))
    data = struct.pack("<I", _ACL_VERSION) + b"".join(_ACL_ENTRY.pack(*e) for e in kept)
    os.setxattr(path, _ACL_XATTR, data)


def grant_path(path: Path, uid: int, gids: set[int]) -> None:
    """Let user ``uid`` reach ``path``: pass-through on every folder above it that the user
    cannot pass already (and on ``path`` itself), without changing any mode bits."""
    for folder in [*reversed(path.parents), path]:
        if not can_traverse(folder, uid, gids):
            grant_traverse(folder, uid)


def _acl_from_mode(mode: int) -> list[tuple[int, int, int]]:
    return [
        (_USER_OBJ, (mode >> 6) & 0o7, _NO_ID),
        (_GROUP_OBJ, (mode >> 3) & 0o7, _NO_ID),
        (_OTHER, mode & 0o7, _NO_ID),
    ]


def _read_acl(path: Path) -> list[tuple[int, int, int]]:
    try:
        data = os.getxattr(path, _ACL_XATTR)
    except OSError:
        return []
    return [entry for entry in _ACL_ENTRY.iter_unpack(data[4:])]
