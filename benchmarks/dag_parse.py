"""DAG parse time: how long one ``DagBag`` parse of ``dags/`` takes, and what it loads.

The dag-processor parses the DAG folder every few seconds, so what ``dags/scas_events.py``
imports is paid again and again. Each round runs in a fresh interpreter (nothing imported
yet, as in a new dag-processor child) with Airflow already imported, so the figure is the
parse alone: ``DagBag(dags/)`` over the repository's ``config/events``. It reports the
median and the spread of the rounds, and whether the parse loaded onnxruntime, OpenCV or
PyAV (it should load none of them).

    .venv/bin/python benchmarks/dag_parse.py [--json] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scas_lib.deploy.config import airflow_environment  # noqa: E402

#: Modules a DAG parse must not load: the model runtime, OpenCV, the video decoder.
HEAVY_MODULES = ("onnxruntime", "cv2", "av")

# One round, run in a fresh interpreter; prints one JSON line.
_ROUND = """
import json, sys, time
from airflow.dag_processing.dagbag import DagBag
before = set(sys.modules)
started = time.perf_counter()
bag = DagBag(sys.argv[1])
took = time.perf_counter() - started
heavy = sorted(m for m in {heavy!r} if m in sys.modules and m not in before)
print(json.dumps({{"seconds": took, "dags": len(bag.dag_ids), "errors": len(bag.import_errors),
                  "heavy": heavy}}))
"""


def parse_once(environment: dict[str, str], root: Path = ROOT) -> dict:
    """One DagBag parse of ``root``'s dags/ in a fresh interpreter (in ``root``, whose
    ``scas_lib`` it imports): seconds, DAGs, import errors, heavy modules loaded."""
    script = _ROUND.format(heavy=HEAVY_MODULES)
    done = subprocess.run(
        [sys.executable, "-c", script, str(root / "dags")],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scas-dag-parse-") as home:
        environment = airflow_environment(Path(home))
        rounds = [parse_once(environment) for _ in range(args.rounds)]
    if rounds[0]["errors"]:
        raise SystemExit(f"{ROOT / 'dags'} does not import: {rounds[0]['errors']} import errors")
    seconds = [r["seconds"] for r in rounds]
    result = {
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "rounds": args.rounds,
        "median_s": round(statistics.median(seconds), 3),
        "min_s": round(min(seconds), 3),
        "max_s": round(max(seconds), 3),
        "dags": rounds[0]["dags"],
        "import_errors": rounds[0]["errors"],
        "heavy_modules_loaded": rounds[0]["heavy"],
    }
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"DagBag parse of {ROOT / 'dags'}: median {result['median_s']:.3f} s "
        f"(min {result['min_s']:.3f}, max {result['max_s']:.3f}, {args.rounds} rounds), "
        f"{result['dags']} DAGs, {result['import_errors']} import errors, "
        f"heavy modules loaded: {', '.join(result['heavy_modules_loaded']) or 'none'}"
    )


if __name__ == "__main__":
    main()
