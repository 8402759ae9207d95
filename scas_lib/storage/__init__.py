"""The object store: key layout (pure) and the S3 adapter.

The adapter (and the ``minio`` SDK under it) is loaded on first use, not with the package:
the DAG file needs only the key layout, and the dag-processor parses it every few seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scas_lib.storage import keys

if TYPE_CHECKING:
    from scas_lib.storage.object_store import ObjectStore, S3Config, StoredObject, user_metadata

__all__ = ["ObjectStore", "S3Config", "StoredObject", "keys", "user_metadata"]
_ADAPTER_NAMES = {"ObjectStore", "S3Config", "StoredObject", "user_metadata"}


def __getattr__(name: str) -> Any:
    if name in _ADAPTER_NAMES:
        from scas_lib.storage import object_store

        return getattr(object_store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
