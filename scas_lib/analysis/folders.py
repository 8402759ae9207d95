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


def _names(results: dict[str, object], visitor_id: str) -> bool:
    seconds = results.get("seconds")
    assert isinstance(seconds, list)
    return any(
        face.get("visitor_id") == visitor_id
        for second in seconds
        for frame in second["frames"]
        for face in frame["faces"]
    )
