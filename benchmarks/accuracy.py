"""Recognition accuracy on a generated event, scored against its ground truth.

Generates an event (default: the registry sample photos; ``--faces DIR`` for a folder of
people such as ../shared/faces), enrolls each visitor from their kiosk photo, recognizes
every segment with the default recognition settings (the same as the throughput
benchmark), turns tracks into appearances and scores them with the simulator's scoring
function.

With ``--faces``, the event is made of one half of the people (``--half``, by default the
held-out half, which the matching thresholds were not tuned on: see
``scas_lib.simulation.people.person_folders``). ``tracks_across_cuts`` counts tracks that
run across a shot cut found in their segment (there must be none).

    .venv/bin/python benchmarks/accuracy.py [--faces ../shared/faces] [--half held-out] [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from footage import START, recognize_generated

from scas_lib.faces.engine import FaceEngine
from scas_lib.highlights.appearances import AppearanceRules, build_appearances
from scas_lib.provisioning.install import install_default_pack
from scas_lib.recognition.config import RecognitionConfig
from scas_lib.recognition.headcount import count_people
from scas_lib.recognition.pipeline import footage_engine
from scas_lib.settings import Settings
from scas_lib.simulation.people import folder_photos, sample_photos
from scas_lib.simulation.plan import SimulationConfig
from scas_lib.simulation.truth import score_appearances

#: What recognition found is scored, before the editor's choices: tracks merged across gaps
#: as the highlights do, but no blip dropped and no footage added around them.
SCORED_RULES = AppearanceRules(min_length_s=0.0, pre_roll_s=0.0, post_roll_s=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, help="one sub-folder of photos per person")
    parser.add_argument(
        "--half",
        choices=["held-out", "tuning", "all"],
        default="held-out",
        help="which people of --faces make the event (default: the held-out half, which no "
        "threshold was tuned on)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--event-dir", type=Path, help="reuse or keep the generated event here")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    settings = Settings()
    pack = install_default_pack(settings.models_path, download_dir=settings.downloads_path)
    recognition = RecognitionConfig()
    engine = FaceEngine.load(pack.directory, provider=settings.onnx_provider)
    footage = footage_engine(pack.directory, recognition, provider=settings.onnx_provider)
    photos = (
        folder_photos(args.faces, args.half)
        if args.faces
        else sample_photos(settings.data_dir / "samples", settings.package_index_url)
    )
    directory = args.event_dir or Path(tempfile.mkdtemp(prefix="scas-accuracy-")) / "event"
    config = SimulationConfig(event_id="bench", duration_s=args.duration, seed=args.seed)
    recognized = recognize_generated(
        directory, config, photos, engine, footage, pack.manifest.thresholds, recognition
    )
    event, tracks = recognized.event, list(recognized.tracks)
    predicted: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for appearance in build_appearances(tracks, SCORED_RULES):
        predicted.setdefault(appearance.visitor_id, {}).setdefault(appearance.camera_id, []).append(
            (
                (appearance.start_time - START).total_seconds(),
                (appearance.end_time - START).total_seconds(),
            )
        )
    score = score_appearances(
        event.truth, predicted, list(recognized.visitors), present=event.presence
    )
    report = {
        **score.as_dict(),
        "visitors": len(recognized.visitors),
        "strangers": len(event.plan.people) - len(recognized.visitors),
        "camera_seconds": config.cameras * config.duration_s,
        "recognition_wall_s": round(recognized.recognition_wall_s, 1),
        "photos": f"{args.faces} ({args.half})" if args.faces else "registry samples",
        "tracks_across_cuts": recognized.tracks_across_cuts,
        # People the cameras saw: counted from the tracks, and by the ground truth (anyone
        # with any of their face in a frame).
        "people_counted": count_people(
            tracks, pack.manifest.thresholds.match, min_quality=recognition.probe_min_quality
        ).people,
        "people_in_footage": sum(
            any(intervals for intervals in cameras.values()) for cameras in event.presence.values()
        ),
        "cuts": recognized.cuts,
        "seed": args.seed,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for key, value in report.items():
        if key != "per_visitor":
            print(f"{key:20} {value}")
    for visitor, values in report["per_visitor"].items():
        print(f"  {visitor:18} " + "  ".join(f"{k} {v}" for k, v in values.items()))


if __name__ == "__main__":
    main()
