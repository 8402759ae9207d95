"""Where the console's analyses live on disk (``<data_dir>/analyses/<operator>/<id>/``),
and forgetting a visitor in them.

Each analysis' folder holds the upload (``source.<ext>``), its results
(``source.annotated.mp4``, ``source.analysis.json``, ``source.jpg``) and its record
(``analysis.json``: name, event, progress, people), written by
:class:`~scas_lib.web.analyses.AnalysisJobs`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

#: An analysis' record in its folder.
RECORD = "analysis.json"
#: Its per-second results (:meth:`~scas_lib.analysis.records.Analysis.to_json`).
RESULTS = "source.analysis.json"


def analyses_root(data_dir: Path) -> Path:
    return data_dir / "analyses"


def operator_folder(root: Path, operator: str) -> Path:
    """An operator's analyses (their name hashed: any name is a safe folder)."""
    return root / hashlib.sha256(operator.encode()).hexdigest()[:16]


def forget_in_analyses(root: Path, event_id: str, visitor_id: str) -> int:
    """Delete every analysis that named the visitor (one of their event whose results hold
    a face of theirs); the number deleted. Faces are personal data: an analysis that shows
    a forgotten visitor by name goes with them."""
    deleted = 0
    for record in root.glob(f"*/*/{RECORD}") if root.exists() else []:
        if json.loads(record.read_text()).get("event_id") != event_id:
            continue
        results = record.parent / RESULTS
        if results.exists() and _names(json.loads(results.read_text()), visitor_id):
            shutil.rmtree(record.parent, ignore_errors=True)
            deleted += 1
    return deleted


def purge_analyses(root: Path, now: datetime, keep_days: float) -> int:
    """Delete the analyses made more than ``keep_days`` before ``now``; the number deleted.

    >>> import tempfile
    >>> from datetime import UTC
    >>> root = Path(tempfile.mkdtemp())
    >>> made = {"old": "2026-10-01T10:00:00+00:00", "new": "2026-12-01T10:00:00+00:00"}
    >>> for name, when in made.items():
    ...     folder = root / "operator" / name
    ...     folder.mkdir(parents=True)
    ...     _ = (folder / RECORD).write_text(json.dumps({"created_at": when}))
    >>> purge_analyses(root, datetime(2026, 12, 4, tzinfo=UTC), keep_days=30)
    1
    >>> sorted(p.name for p in (root / "operator").iterdir())
    ['new']
    """
    deleted = 0
    limit = now - timedelta(days=keep_days)
    for record in root.glob(f"*/*/{RECORD}") if root.exists() else []:
        if datetime.fromisoformat(json.loads(record.read_text())["created_at"]) < limit:
            shutil.rmtree(record.parent, ignore_errors=True)
            deleted += 1
    return deleted


def _names(results: dict[str, object], visitor_id: str) -> bool:
    seconds = results.get("seconds")
    assert isinstance(seconds, list)
    return any(
        face.get("visitor_id") == visitor_id
        for second in seconds
        for frame in second["frames"]
        for face in frame["faces"]
    )
