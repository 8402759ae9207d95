"""The console's live camera thumbnails: a small JPEG of each camera's newest segment (its
first frame, a keyframe: nothing before it is decoded), made by ffmpeg once per segment
(:func:`scas_lib.highlights.graph.thumbnails`, run by :func:`scas_lib.media.ffmpeg.run_graph`)
and kept in the web process, one per camera, until a newer segment arrives. A console that
polls every second asks again only when its camera's newest segment changes (the page puts
the segment's key in the address, and the answer may be cached under it).

Only the newest segment's picture is kept, in memory: nothing is written to the object store,
the segment is downloaded into a scratch folder removed at once (and after a crash, by the
next scratch folder made: :mod:`scas_lib.services.scratch`), and the segment is looked for
in the store before its picture is handed out, so a frame of footage that retention deleted
is not shown from the cache either.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from scas_lib.highlights import graph
from scas_lib.ingest import stage as ingest
from scas_lib.media.ffmpeg import run_graph
from scas_lib.services.scratch import SEGMENT_PREFIX, scratch_dir
from scas_lib.storage import keys
from scas_lib.web.context import WebContext
from scas_lib.web.errors import ApiError

#: The width of a thumbnail (a tile of the console's camera grid, on a 2x screen).
THUMBNAIL_WIDTH = 320


@dataclass(frozen=True)
class Thumbnail:
    """The picture of one segment: its key and the JPEG."""

    segment_key: str
    jpeg: bytes = field(repr=False)


def newest_segment_key(context: WebContext, event_id: str, camera_id: str) -> str:
    """The key of the camera's newest segment that arrived, as the console's camera table
    knows it (:func:`scas_lib.ingest.health.camera_health`); 404 when it has none."""
    keys.validate_id(event_id, "event id")
    keys.validate_id(camera_id, "camera id")
    for health in ingest.cameras(context.services, event_id):
        if health.camera_id == camera_id and health.last_segment_key:
            return health.last_segment_key
    raise ApiError(404, "no_footage", f"camera {camera_id!r} of {event_id!r} sent no footage")


def segment_picture(context: WebContext, segment_key: str) -> bytes:
    """The first frame of a stored segment as a JPEG :data:`THUMBNAIL_WIDTH` wide."""
    store = context.services.object_store()
    bucket = context.settings.bucket_recordings
    # A segment's scratch folder, as recognition's: private, and removed even after a crash.
    with scratch_dir(context.settings.data_dir, SEGMENT_PREFIX) as scratch:
        video = store.download_file(bucket, segment_key, scratch / "segment")
        target = scratch / "thumbnail.jpg"
        run_graph(graph.thumbnails(video, [0.0], [target], THUMBNAIL_WIDTH), "camera thumbnail")
        return target.read_bytes()


class CameraThumbnails:
    """The newest thumbnail of each camera, made once per segment even when several
    consoles ask at once (one lock per camera: other cameras' pictures are not held up)."""

    def __init__(self) -> None:
        self._pictures: dict[tuple[str, str], Thumbnail] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, camera: tuple[str, str]) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(camera, threading.Lock())

    def newest(self, context: WebContext, event_id: str, camera_id: str) -> Thumbnail:
        """The picture of the camera's newest segment; 404 when it has none, or when that
        segment is not in the object store (any more)."""
        key = newest_segment_key(context, event_id, camera_id)
        if not context.services.object_store().exists(context.settings.bucket_recordings, key):
            raise ApiError(404, "no_footage", f"segment {key!r} is not stored")
        camera = (event_id, camera_id)
        with self._lock(camera):
            kept = self._pictures.get(camera)
            if kept is None or kept.segment_key != key:
                kept = Thumbnail(key, segment_picture(context, key))
                self._pictures[camera] = kept
            return kept
