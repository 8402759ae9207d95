#!/usr/bin/env bash
# The demo: a synthetic event through every stage built so far, on the embedded defaults.
#   embedded servers up -> face model pack -> synthetic 3-camera event -> segments pushed to
#   the recordings bucket -> visitors enrolled from their kiosk photos -> every segment
#   recognized -> a highlight video per visitor seen, published and saved on disk ->
#   servers down.
set -euo pipefail
cd "$(dirname "$0")/.."
scas=.venv/bin/scas
python=.venv/bin/python
event=${SCAS_DEMO_EVENT:-demo}
duration=${SCAS_DEMO_DURATION:-30}
data_dir=$($python -c 'from scas_lib.settings import Settings; print(Settings().data_dir)')
event_dir="$data_dir/events/$event"

trap '$scas down' EXIT
$scas up
$scas models install
$scas simulate "$event_dir" --event "$event" --duration "$duration"
$scas replay "$event_dir" --speed 0
$python - "$event_dir" <<'PY' | while IFS=$'\t' read -r id name photo; do
import json, sys
from pathlib import Path
event_dir = Path(sys.argv[1])
for person in json.loads((event_dir / "event.json").read_text())["people"]:
    for photo in person["enrollment_photos"]:
        print(person["id"], person["identity"], event_dir / photo, sep="\t")
PY
    $scas enroll --event "$event" --name "$name" --consent en --visitor-id "$id" "$photo"
done
$scas recognize --event "$event"
$scas highlights --event "$event" --download "$event_dir/highlights"
$scas status
echo "event written to $event_dir (ground truth: $event_dir/ground_truth.json)"
echo "highlight videos:"
ls -1 "$event_dir"/highlights/*.mp4
