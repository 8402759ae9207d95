"""What each segment costs its recognize task, beside the work itself: the records that
``benchmarks/recognize_overhead.py`` reads from the task's XCom (and the task logs).

:func:`scas_lib.run.recognition.recognize_batch` tells a :class:`BatchTimer` where each
segment's preparation starts and ends; the timer does the counting, so that the task's
loop holds no clock of its own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scas_lib.recognition.records import SegmentOutcome

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentTiming:
    """What one segment cost its recognize task's process: what was paid before its first
    frame (wall and process CPU seconds, every thread), counted from the process's start for
    the first segment the process recognizes, else from the end of the one before; against
    the work, its decode and analysis. Logged, and returned by the task (XCom) for
    ``benchmarks/recognize_overhead.py``."""

    key: str
    #: The first segment of its process: the one that pays the process's start.
    first: bool
    before_s: float
    before_cpu_s: float
    #: Of ``before_s``: from the process's start to the task's call (Airflow's task runner
    #: and the DAG file), importing the recognition modules, loading the engine, and the
    #: stage's set-up (catalog rows, gallery, download); the rest is opening the catalog
    #: and object store and bookkeeping.
    task_start_s: float
    imports_s: float
    engine_s: float
    setup_s: float
    work_s: float
    work_cpu_s: float


class BatchTimer:
    """The clock of one recognize task: wall and CPU marks of this process since its start,
    then since the last segment, and each segment's :class:`SegmentTiming`."""

    def __init__(self) -> None:
        import psutil

        self.called = time.time()
        # A task's process is forked for it: its CPU clock starts at 0 with it.
        self.wall, self.cpu, self.first = psutil.Process().create_time(), 0.0, True
        self.timings: list[SegmentTiming] = []
        self._imports_s = self._engine_s = 0.0

    def prepare(self, load_engine: Callable[[], object]) -> None:
        """Before a segment: import the recognition modules and ``load_engine()``, each
        timed (both cost something only the first time in a process)."""
        started = time.perf_counter()
        from scas_lib.recognition import stage  # noqa: F401  (timed: the first import)

        imported = time.perf_counter()
        load_engine()
        self._imports_s, self._engine_s = imported - started, time.perf_counter() - imported

    def recognized(self, key: str, outcome: SegmentOutcome) -> None:
        """Record (and log) what the segment just recognized cost, if the stage timed its
        work."""
        work = outcome.timing
        if work is None:
            return
        timing = SegmentTiming(
            key=key,
            first=self.first,
            before_s=work.started_at - self.wall,
            before_cpu_s=work.started_cpu_s - self.cpu,
            task_start_s=max(0.0, self.called - self.wall) if self.first else 0.0,
            imports_s=self._imports_s,
            engine_s=self._engine_s,
            setup_s=work.setup_s,
            work_s=work.work_s,
            work_cpu_s=work.work_cpu_s,
        )
        self.timings.append(timing)
        log.info(
            "%s: %.2f s (%.2f s CPU) before its first frame, %.2f s (%.2f s CPU) of work",
            key, timing.before_s, timing.before_cpu_s, timing.work_s, timing.work_cpu_s,
        )  # fmt: skip

    def lap(self) -> None:
        """After a segment, recognized or not: the next one counts from here."""
        self.wall, self.cpu, self.first = time.time(), time.process_time(), False
