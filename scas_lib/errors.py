"""Errors SCAS raises on purpose. Each message says what failed and what to check.

The CLI prints these as one line instead of a traceback; library users can catch
:class:`ScasError` for all of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class ScasError(Exception):
    """Base class for every error SCAS raises on purpose."""


class InvalidId(ScasError, ValueError):
    """An event, camera or visitor id that does not follow the id rules. Also a ValueError,
    so pydantic validators report it as a field error."""


class ConfigurationError(ScasError):
    """Settings are missing or contradict each other."""


class CatalogUnavailable(ScasError):
    """The PostgreSQL catalog cannot be reached or refused the login."""


class ObjectStoreError(ScasError):
    """Base class for object store failures."""


class ObjectStoreUnavailable(ObjectStoreError):
    """The S3 server cannot be reached."""


class LocalFileError(ObjectStoreError):
    """The local side of a transfer failed (the file to upload is missing or unreadable,
    the folder to download into is not there, the disk is full): the store is not at
    fault, and trying it again as if it were out of reach would not help."""


class ObjectStoreAccessDenied(ObjectStoreError):
    """The S3 server refused the credentials or the request."""


class BucketNotFound(ObjectStoreError):
    """The bucket does not exist."""


class ObjectNotFound(ObjectStoreError):
    """The object does not exist."""


class EmbeddedServiceError(ScasError):
    """An embedded server (PostgreSQL or SeaweedFS) failed to start or stop."""


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is a server that could not be reached, dropped the connection or
    did not answer in time: trying again later may succeed. Anything else (bad data, a
    refusal) will fail again the same way.
    """
    import psycopg2  # the catalog's driver: its connection and timeout errors

    return isinstance(
        error,
        (
            CatalogUnavailable,
            ObjectStoreUnavailable,
            psycopg2.OperationalError,
            psycopg2.InterfaceError,
        ),
    )


def field_problems(error: ValidationError) -> str:
    """A pydantic validation error on one line: ``field.path: problem; ...``."""
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'file'}: {item['msg']}"
        for item in error.errors()
    )
