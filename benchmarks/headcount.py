"""The console's people-seen count at a big event: what a poll costs.

The operator's console asks for the event's counts every second; one of them is the
number of different people the cameras saw (:func:`scas_lib.recognition.stage.people_seen`:
the tracks loaded from the catalog, the unknown ones grouped by their faces). One run
stores ``--tracks`` unknown face tracks of ``--people`` people on ``--cameras`` cameras
over an hour of 10 s segments in a new database on the configured (or embedded) catalog,
then measures:

- ``similarities_s``: every pair's similarity alone (one matrix product of the tracks'
  mean embeddings, numpy): the floor of any grouping (the baseline);
- ``grouping_s``: :func:`~scas_lib.recognition.headcount.count_people` on those tracks;
- ``load_s``: the tracks read from the catalog as ``people_seen`` reads them (their ends
  only), ``load_whole_paths_s`` with every face; ``recount_s``: ``people_seen`` (read and
  grouping);
- ``poll_unchanged_s``: the median poll of the console's
  :class:`~scas_lib.recognition.stage.PeopleSeenCounter` while nothing changes;
- ``polls_changing``: ``--polls`` polls, one a second, with one new segment's tracks
  stored before each (recognition during the event): their mean time, and how many
  counted again.

``--compare-with FILE`` also times ``count_people`` from another version of
``scas_lib/recognition/headcount.py`` on the same tracks (``naive_grouping_s``), and
checks that it counts the same people, e.g. the version before the grouping kept only
the pairs alike enough::

    git show 4208af4:scas_lib/recognition/headcount.py > /tmp/headcount_before.py
    .venv/bin/python benchmarks/headcount.py --json --compare-with /tmp/headcount_before.py

The embeddings are made up (real faces of thousands of people are not at hand): each
person a random direction in 512 dimensions, each track that direction plus noise, so
that two tracks of one person are about 0.6 alike and of two people about 0, as
ArcFace's are. Tracks last 2-8 s at random times, so that some of one person's tracks are
in front of one camera at once (kept apart by the grouping rule), with a face every
sampled frame (5 a second) as recognition stores them.

Goals: grouping_s <= 3x similarities_s; poll_unchanged_s <= 0.05x recount_s; the mean
changing poll <= 0.2x recount_s.

    .venv/bin/python benchmarks/headcount.py [--json] [--tracks 5000] [--people 1000]
        [--cameras 8] [--polls 20] [--compare-with FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Callable

    from scas_lib.catalog import Catalog
    from scas_lib.recognition.headcount import Headcount
    from scas_lib.tracks import FaceTrack

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
EVENT_ID = "crowd"
START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
SEGMENT_S = 10.0
EVENT_S = 3600.0
#: Noise per dimension: two tracks of one person are then about 0.6 alike.
NOISE = 0.035
#: Recognition's default sampling (``RecognitionConfig.analysis_fps``): faces per second.
ANALYSIS_FPS = 5.0


def made_up_tracks(
    count: int, people: int, cameras: int, rng: np.random.Generator
) -> dict[tuple[str, datetime], list[FaceTrack]]:
    """``count`` unknown tracks, by camera and segment start."""
    from scas_lib.provisioning.install import DEFAULT_PACK
    from scas_lib.tracks import FaceSample, FaceTrack, TrackIdentity

    faces = rng.normal(size=(people, 512)).astype(np.float32)
    faces /= np.linalg.norm(faces, axis=1, keepdims=True)
    by_segment: dict[tuple[str, datetime], list[FaceTrack]] = {}
    for _ in range(count):
        embedding = faces[rng.integers(people)] + rng.normal(scale=NOISE, size=512)
        embedding = (embedding / np.linalg.norm(embedding)).astype(np.float32)
        camera = f"cam{rng.integers(cameras)}"
        segment = START + timedelta(seconds=SEGMENT_S * int(rng.integers(EVENT_S / SEGMENT_S)))
        offset = float(rng.uniform(0, SEGMENT_S - 2))
        length = float(rng.uniform(2, min(8, SEGMENT_S - offset)))
        samples = tuple(  # a face every sampled frame, as recognition stores them
            FaceSample(offset + t, (100, 100, 160, 172), 0.9, 0.8, None, 0.1, 0.05)
            for t in np.arange(0.0, length, 1 / ANALYSIS_FPS)
        )
        tracks = by_segment.setdefault((camera, segment), [])
        identity = TrackIdentity(None, 0.1, embedding)
        tracks.append(
            FaceTrack(camera, segment, len(tracks), samples, (1920, 1080), DEFAULT_PACK, identity)
        )
    return by_segment


def store_segment(catalog: Catalog, camera: str, start: datetime, tracks: list[FaceTrack]) -> None:
    """One recognized segment's tracks, as the recognize stage stores them."""
    catalog.events.ensure_camera(EVENT_ID, camera)
    key = f"{EVENT_ID}/{camera}/{start:%Y%m%dT%H%M%S}.mp4"
    segment = catalog.segments.register(EVENT_ID, camera, key, start, SEGMENT_S)
    catalog.segments.mark_processing(segment.id)
    catalog.segments.save_tracks(segment.id, tracks, duration_s=SEGMENT_S)


def timed(function: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """What ``function(*args)`` returns, and the seconds it took."""
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def load_count_people(path: Path) -> Callable[[list[FaceTrack], float], Headcount]:
    """``count_people`` from another version of the headcount module."""
    spec = importlib.util.spec_from_file_location("compared_headcount", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module.count_people


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=5000)
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--polls", type=int, default=20)
    parser.add_argument("--compare-with", type=Path)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from kiosk_load import fresh_servers

    from scas_lib.faces.pack import thresholds_for
    from scas_lib.provisioning.install import DEFAULT_PACK
    from scas_lib.recognition.headcount import count_people
    from scas_lib.recognition.stage import PeopleSeenCounter, people_seen
    from scas_lib.services.runtime import open_services
    from scas_lib.settings import Settings

    rng = np.random.default_rng(0)
    stored = made_up_tracks(args.tracks, args.people, args.cameras, rng)
    arriving = sorted(made_up_tracks(args.polls * 4, args.people, args.cameras, rng).items())
    same_person = thresholds_for(DEFAULT_PACK).match
    naive: dict[str, Any] = {}
    with open_services(Settings()) as base:
        services = fresh_servers(base, "headcount")
        with services.catalog() as catalog:
            catalog.events.ensure(EVENT_ID)
            for (camera, start), tracks in sorted(stored.items()):
                store_segment(catalog, camera, start, tracks)
            _, whole_load_s = timed(catalog.tracks.for_event, EVENT_ID)
            tracks, load_s = timed(lambda: catalog.tracks.for_event(EVENT_ID, ends_only=True))
        vectors = np.stack([t.identity.centroid for t in tracks]).astype(np.float32)
        np.matmul(vectors[:100], vectors.T)  # warm-up: the first product starts BLAS
        _, similarities_s = timed(np.matmul, vectors, vectors.T)
        counted, grouping_s = timed(count_people, tracks, same_person)
        if args.compare_with:
            compared, naive_s = timed(load_count_people(args.compare_with), tracks, same_person)
            naive = {
                "naive_grouping_s": naive_s,
                "naive_counts_the_same": compared.people == counted.people,
                "naive_to_grouping": naive_s / grouping_s,
            }
        _, recount_s = timed(people_seen, services, EVENT_ID)

        counter = PeopleSeenCounter()
        counter(services, EVENT_ID)
        unchanged_s = statistics.median(
            timed(counter, services, EVENT_ID)[1] for _ in range(args.polls)
        )
        changing: list[float] = []
        with services.catalog() as catalog:
            for (camera, start), new_tracks in arriving[: args.polls]:
                store_segment(catalog, camera, start + timedelta(seconds=EVENT_S), new_tracks)
                changing.append(timed(counter, services, EVENT_ID)[1])
                time.sleep(max(0.0, 1.0 - changing[-1]))
        recounted = counter.recounts - 1
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "tracks": args.tracks,
        "people": args.people,
        "cameras": args.cameras,
        "same_person": same_person,
        "people_counted": counted.people,
        "load_s": load_s,
        "load_whole_paths_s": whole_load_s,
        "similarities_s": similarities_s,
        "grouping_s": grouping_s,
        "recount_s": recount_s,
        "poll_unchanged_s": unchanged_s,
        "polls_changing": {
            "polls": len(changing),
            "recounted": recounted,
            "mean_s": statistics.fmean(changing),
            "max_s": max(changing),
        },
        **naive,
        "ratios": {
            "grouping_to_similarities": grouping_s / similarities_s,
            "poll_unchanged_to_recount": unchanged_s / recount_s,
            "poll_changing_to_recount": statistics.fmean(changing) / recount_s,
        },
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for name, value in report.items():
            print(f"{name}: {value}")


if __name__ == "__main__":
    main()
