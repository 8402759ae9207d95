"""The object store: key layout (pure) and the S3 adapter."""

from scas_lib.storage import keys
from scas_lib.storage.object_store import ObjectStore, S3Config, StoredObject, user_metadata

__all__ = ["ObjectStore", "S3Config", "StoredObject", "keys", "user_metadata"]
