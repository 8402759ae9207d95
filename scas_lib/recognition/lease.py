"""A segment's lease, renewed while its worker recognizes it.

A segment ``processing`` belongs to the worker that took it for as long as its lease
lasts; a wave reclaims it once the lease ran out
(:meth:`~scas_lib.catalog.segments.SegmentRepository.reclaim_stale`). The lease used to be
the longest a recognition may take (five minutes and more), so a segment whose worker was
killed waited that long before another took it (the soak, docs/benchmarks-history.md).
Now the worker renews a short lease while it works: a dead worker's segments are taken
again within :data:`SEGMENT_LEASE_S`.

Example::

    with LeaseKeeper(services, segment.id):
        result = recognize_video(...)
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from scas_lib.catalog import Catalog
from scas_lib.errors import is_transient
from scas_lib.services.runtime import Services

log = logging.getLogger(__name__)

#: How long a segment stays its worker's without a renewal. Several renewals fit in it, so
#: a catalog restart (seconds) does not hand a live worker's segment to another.
SEGMENT_LEASE_S = 60.0
#: How often a working worker renews its segment's lease.
LEASE_RENEW_S = 15.0


class LeaseKeeper:
    """Renew ``segment_id``'s lease every ``renew_s`` seconds, on a connection of its own
    (opened again after a fault), from a thread, for as long as the block runs."""

    def __init__(self, services: Services, segment_id: int, renew_s: float = LEASE_RENEW_S):
        self._services = services
        self._segment_id = segment_id
        self._renew_s = renew_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, name=f"lease-{segment_id}", daemon=True)
        self.renewals = 0

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _keep(self) -> None:
        catalog: Catalog | None = None
        try:
            while not self._stop.wait(self._renew_s):
                try:
                    catalog = catalog or self._services.catalog()
                    if not catalog.segments.renew_lease(self._segment_id):
                        return  # no longer processing: done, failed or taken back
                    self.renewals += 1
                except Exception as error:
                    # Out of reach for now: the lease has room for several missed renewals.
                    if not is_transient(error):
                        raise
                    log.warning("segment %d: lease not renewed: %s", self._segment_id, error)
                    if catalog is not None:
                        catalog.close()
                    catalog = None
        finally:
            if catalog is not None:
                catalog.close()
