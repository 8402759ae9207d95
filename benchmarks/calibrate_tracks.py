"""Calibrate how a face *track* is accepted, on generated footage of real people.

A photo is one face; a track brings several, and their mean embedding is steadier than any
one of them (issue 13: three frames at 0.45 for one person, well clear of everyone else,
may be enough where one frame is not). This finds, for the model pack:

- ``track_match``: the similarity of a track's mean embedding (over at least
  ``track_min_faces`` evidence faces) from which it is accepted. Set a safety margin above
  the highest similarity of any track to a *different* person seen here, as the photo
  threshold is (benchmarks/calibrate_thresholds.py);
- ``track_support``: below it, one embedded face of a track labelled as a visitor does not
  support the label (its stretch is not the visitor's time): the 99th percentile of the
  similarity of strangers' faces (tracks of people who are not visitors, and passers-by)
  to the visitor they look most like. A face that looks no more like the visitor than a
  stranger's does is no evidence that the visitor is there.

Footage: events generated from one half of ``--faces`` (the tuning half by default; the
other half is what benchmarks/accuracy.py reports on), several seeds, recognized with the
default settings. Every track gets the person the plan put there; passers-by of the
background video are nobody's. Different-person pairs: each track against the photos of
every other named person of that half and of the registry samples; same-person pairs:
against the person's photos that the event did not use for its footage.

    .venv/bin/python benchmarks/calibrate_tracks.py --faces ../shared/faces --write
    .venv/bin/python benchmarks/calibrate_tracks.py --faces ../shared/faces --half held-out

With ``--half held-out`` (never with ``--write``) it reports the false-accept rate of the
kept thresholds on the people they were not tuned on.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import numpy as np
from calibrate_thresholds import SAFETY, collect
from footage import recognize_generated, track_person

from scas_lib.faces.engine import FaceEngine
from scas_lib.faces.pack import calibration_file
from scas_lib.provisioning.install import install_default_pack
from scas_lib.recognition.config import RecognitionConfig
from scas_lib.recognition.pipeline import footage_engine
from scas_lib.settings import Settings
from scas_lib.simulation.people import folder_photos, person_id
from scas_lib.simulation.plan import SimulationConfig

#: Tracks mostly of one person only: a track the tracker joined across two people is the
#: consistency check's business, not the threshold's.
MIN_PURITY = 0.9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, required=True, help="one folder per person")
    parser.add_argument("--half", choices=["tuning", "held-out"], default="tuning")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--write", action="store_true", help="store in the calibration file")
    args = parser.parse_args()
    if args.write and args.half != "tuning":
        parser.error("thresholds are written from the tuning half only")

    settings = Settings()
    pack = install_default_pack(settings.models_path, download_dir=settings.downloads_path)
    kept = pack.manifest.thresholds
    # Every track is scored whole, with no stretch cut off for lack of support.
    thresholds = kept.model_copy(update={"track_support": None})
    recognition = RecognitionConfig()
    engine = FaceEngine.load(pack.directory, provider=settings.onnx_provider)
    footage = footage_engine(pack.directory, recognition, provider=settings.onnx_provider)
    photos = folder_photos(args.faces, args.half)
    templates = [
        item
        for item in collect(
            engine, settings.data_dir / "samples", settings.package_index_url, args.faces, args.half
        )
        if item.identity
    ]

    impostor: list[tuple[int, float]] = []  # (evidence faces, similarity)
    genuine: list[tuple[int, float]] = []
    supporting: list[float] = []  # faces of rightly labelled tracks, to their visitor
    strangers: list[float] = []  # faces of non-visitors, to the visitor most like them
    for seed in args.seeds:
        directory = Path(tempfile.mkdtemp(prefix="scas-calibrate-")) / "event"
        config = SimulationConfig(event_id="bench", duration_s=args.duration, seed=seed)
        recognized = recognize_generated(
            directory, config, photos, engine, footage, thresholds, recognition
        )
        used = {photo.name for p in recognized.event.plan.people for photo in p.footage_photos}
        for track in recognized.tracks:
            person, purity = track_person(recognized.event, track)
            if purity < MIN_PURITY or track.identity.centroid is None:
                continue
            faces = [s.similarity for s in track.samples if s.similarity is not None]
            if person is not None and track.visitor_id == person:
                supporting += faces
            elif person not in recognized.visitors and track.visitor_id is None:
                strangers += faces
            for template in templates:
                similarity = float(track.identity.centroid @ template.embedding)
                if person_id(template.identity) != person:
                    impostor.append((track.identity.faces, similarity))
                elif Path(template.source).with_suffix("").as_posix() not in used:
                    genuine.append((track.identity.faces, similarity))

    enough = kept.track_min_faces
    many = np.array([s for n, s in impostor if n >= enough])
    same = np.array([s for n, s in genuine if n >= enough])
    track_match = math.ceil((many.max() + SAFETY) * 100) / 100
    track_support = math.ceil(np.percentile(strangers, 99) * 100) / 100
    judged = kept.track_match if args.half != "tuning" else track_match
    result = {
        "track_match": track_match,
        "track_min_faces": enough,
        "track_support": track_support,
        "track_source": "benchmarks/calibrate_tracks.py --faces ../shared/faces --half "
        + f"{args.half} --seeds {' '.join(map(str, args.seeds))}",
        "evidence": {
            "half": args.half,
            "different_person_pairs": int(many.size),
            "different_person_max": round(float(many.max()), 4),
            "different_person_p999": round(float(np.percentile(many, 99.9)), 4),
            "same_person_pairs": int(same.size),
            "same_person_median": round(float(np.median(same)), 4) if same.size else None,
            "judged_threshold": judged,
            "different_person_accepted": int((many >= judged).sum()) if judged else None,
            "same_person_accepted": round(float((same >= judged).mean()), 4)
            if judged and same.size
            else None,
            "stranger_faces": len(strangers),
            "stranger_face_max": round(max(strangers), 4),
            "labelled_faces": len(supporting),
            "labelled_faces_supporting": round(
                float((np.array(supporting) >= track_support).mean()), 4
            ),
        },
    }
    if args.write:
        path = calibration_file(engine.model_pack)
        stored = json.loads(path.read_text())
        stored["thresholds"].update({k: v for k, v in result.items() if k != "evidence"})
        stored["track_evidence"] = result["evidence"]
        path.write_text(json.dumps(stored, indent=2) + "\n")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in {**result, **result.pop("evidence")}.items():
            print(f"{key:28} {value}")


if __name__ == "__main__":
    main()
