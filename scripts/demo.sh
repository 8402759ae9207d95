#!/usr/bin/env bash
# The demo: a synthetic event through every stage built so far, on the embedded defaults.
#   embedded servers up -> face model pack -> synthetic 3-camera event -> each camera's
#   footage served live over RTSP on loopback (GStreamer's server, real-time pace) and
#   recorded by `scas ingest` into the recordings bucket -> `scas event end` -> visitors
#   enrolled from their kiosk photos -> every segment recognized -> a highlight video per
#   visitor seen, published and saved on disk -> servers down.
# SCAS_DEMO_INGEST=0 pushes the generated segments with `scas replay` instead.
# SERVE=1 (`make demo SERVE=1`) ends by leaving `scas serve` (and the servers) running and
# printing the addresses of the operator console, the big screen and a visitor's page.
set -euo pipefail
cd "$(dirname "$0")/.."
scas=.venv/bin/scas
python=.venv/bin/python
event=${SCAS_DEMO_EVENT:-demo}
duration=${SCAS_DEMO_DURATION:-30}
data_dir=$($python -c 'from scas_lib.settings import Settings; print(Settings().data_dir)')
event_dir="$data_dir/events/$event"

cameras=()
keep_up=0
trap 'for pid in "${cameras[@]}"; do kill "$pid" 2>/dev/null || true; done;
      [ "$keep_up" = 1 ] || $scas down' EXIT
$scas up
$scas models install
$scas simulate "$event_dir" --event "$event" --duration "$duration"
if [ "${SCAS_DEMO_INGEST:-1}" = 0 ]; then
    $scas replay "$event_dir" --speed 0
else
    # Each camera's segments joined into one file, served as rtsp://127.0.0.1:PORT/cam; an
    # event file beside the shipped one gives the cameras those urls.
    live="$event_dir/live"
    rm -rf "$live" && mkdir -p "$live/events"
    $python - "$event_dir" "$live" "$event" <<'PY' | while read -r camera port; do
import json, sys
from pathlib import Path
import yaml
from scas_lib.event_files import find_event_file
from scas_lib.media.ffmpeg import run_ffmpeg
from scas_lib.services.embedded import free_ports
event_dir, live, event = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
record = json.loads((event_dir / "event.json").read_text())
shipped = find_event_file(event)
config = yaml.safe_load(shipped.read_text()) if shipped else {"id": event}
config.update(segment_s=record["config"]["segment_s"], poll_interval_s=1)
cameras = sorted({s["camera_id"] for s in record["segments"]})
ports = free_ports(len(cameras))
config["cameras"] = [{"id": c, "url": f"rtsp://127.0.0.1:{p}/cam"} for c, p in zip(cameras, ports)]
(live / "events" / f"{event}.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
for camera, port in zip(cameras, ports):
    parts = sorted((s for s in record["segments"] if s["camera_id"] == camera),
                   key=lambda s: s["start_time"])
    listing = live / f"{camera}.txt"
    listing.write_text("".join(f"file '{(event_dir / s['path']).resolve()}'\n" for s in parts))
    run_ffmpeg(["-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", "-y",
                str(live / f"{camera}.mp4")], f"joining {camera}")
    print(camera, port)
PY
        /usr/bin/python3 scripts/rtsp-camera.py "$live/$camera.mp4" "$port" --once \
            > "$live/$camera.log" 2>&1 &
        echo "$!" >> "$live/pids"
    done
    mapfile -t cameras < "$live/pids"
    export SCAS_EVENTS_DIR="$live/events"
    sleep 1
    $scas ingest --event "$event" &
    ingest=$!
    # Each camera server exits once it has played its footage to ingest.
    for pid in "${cameras[@]}"; do
        while kill -0 "$pid" 2>/dev/null; do sleep 1; done
    done
    $scas event end --event "$event"
    wait "$ingest"
fi
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

if [ "${SERVE:-0}" = 1 ]; then
    # The operator token comes from the environment, else from a file only this user reads
    # (made once): it is never printed.
    token_file="$data_dir/operator-token"
    if [ -z "${SCAS_OPERATOR_TOKEN:-}" ]; then
        [ -s "$token_file" ] || (umask 077 && $python -c \
            'import secrets; print(secrets.token_urlsafe(32))' > "$token_file")
        SCAS_OPERATOR_TOKEN=$(cat "$token_file")
        export SCAS_OPERATOR_TOKEN
    fi
    port=${SCAS_DEMO_PORT:-8000}
    base="http://127.0.0.1:$port/scas"
    nohup $scas serve --port "$port" > "$data_dir/serve.log" 2>&1 &
    serve_pid=$!
    $python - "$base" <<'PY'
import sys, time, urllib.request
deadline = time.monotonic() + 60
while True:
    try:
        urllib.request.urlopen(sys.argv[1] + "/v/", timeout=2)
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("scas serve did not answer within 60 s (see serve.log)")
        time.sleep(0.5)
PY
    # A visitor's page: the link the big screen shows for the first finished video.
    page=$($python - "$event" <<'PY'
import sys
from scas_lib.services import runtime
from scas_lib.settings import Settings
with runtime.resolve(Settings()).catalog() as catalog:
    entries = catalog.outputs.published(sys.argv[1])
print(f"/v/{entries[0].token}" if entries else "/v/")
PY
)
    keep_up=1
    echo
    echo "scas serve is running (pid $serve_pid, log $data_dir/serve.log); stop it with:"
    echo "  kill $serve_pid && $scas down"
    echo "sign in once per browser: $base/sign-in?token=<SCAS_OPERATOR_TOKEN>&next=/console/$event"
    [ -s "$token_file" ] && echo "  (the token is in $token_file)"
    echo "operator console: $base/console/$event"
    echo "big screen:       $base/screen/$event"
    echo "a visitor's page: $base$page"
fi
