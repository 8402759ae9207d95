"""Watching a camera live from the console (scas_lib/web/live.py): a real RTSP camera on
loopback (GStreamer's, scripts/rtsp-camera.py) serving a clip of real people's photos,
real ffmpeg, the real face models, and the page in real Chromium.

The clip carries its own frame number in a strip of 16 black or white squares at the top
(bit k white: the k-th bit of the number is 1). The RTSP server says when it started
playing, so frame n left the camera at ``playing + n / 25``; the page's hook reads the
number back from each frame it draws, which measures the lag from the camera to the
screen end to end, whatever the server says about itself.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from selenium.webdriver.remote.webdriver import WebDriver

from scas_lib.events import ConsentText
from scas_lib.faces.engine import FaceEngine
from scas_lib.media.ffmpeg import run_ffmpeg
from scas_lib.provisioning.samples import SamplePhoto
from scas_lib.services.embedded import free_ports
from scas_lib.simulation.rtsp_camera import LoopbackCamera
from scas_lib.visitors.stage import enroll_visitor

from ..test_ingest import camera_url
from .conftest import EVENT, OPERATOR_TOKEN, WebServer, wait_for

BEARER = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
FPS = 25
CLIP_S = 60
#: Each photo's stretch of the clip: the enrolled visitor, then a stranger, in turn.
SCENES = ("ardern1", "obama")
SCENE_S = 5
BITS = 16
#: A square of the frame-number strip, in the clip's pixels (1280 wide; 20 at 640).
SQUARE = 40
CAMERA_PASSWORD = "pw:live-7"


def _face_clip(photos: dict[str, SamplePhoto], target: Path) -> Path:
    """CLIP_S seconds at 25 fps, 1280x720, H.264 as a camera sends it (a keyframe every
    second, no B-frames): the scenes in turn, the frame number drawn at the top."""
    inputs, chains = [], []
    rounds = CLIP_S // (SCENE_S * len(SCENES))
    for index, name in enumerate(SCENES * rounds):
        inputs += ["-loop", "1", "-t", str(SCENE_S), "-i", str(photos[name].path)]
        chains.append(
            f"[{index}:v]scale=1280:720:force_original_aspect_ratio=decrease,"
            f"pad=1280:720:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={FPS}[s{index}]"
        )
    count = len(SCENES) * rounds
    joined = "".join(f"[s{index}]" for index in range(count))
    strip = [f"drawbox=x=0:y=0:w={SQUARE * BITS}:h={SQUARE}:color=black:t=fill"]
    strip += [
        f"drawbox=x={SQUARE * bit}:y=0:w={SQUARE}:h={SQUARE}:color=white:t=fill:"
        f"enable='mod(floor(n/{2**bit}),2)'"
        for bit in range(BITS)
    ]
    run_ffmpeg(
        ["-y", *inputs, "-filter_complex",
         ";".join(chains) + f";{joined}concat=n={count}:v=1[c];[c]{','.join(strip)}[v]",
         "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-bf", "0", "-g", str(FPS),
         "-pix_fmt", "yuv420p", str(target)],
        "the live test clip",
    )  # fmt: skip
    return target


@pytest.fixture(scope="module")
def face_clip(photos: dict[str, SamplePhoto], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _face_clip(photos, tmp_path_factory.mktemp("live") / "lobby.mp4")


@pytest.fixture
def camera(
    face_clip: Path, events_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LoopbackCamera]:
    """The RTSP camera, as cam1 of the web test's event (its password from the
    environment, as `scas ingest` takes it)."""
    monkeypatch.setenv("CAM_PASSWORD", CAMERA_PASSWORD)
    served = LoopbackCamera(face_clip, free_ports(1)[0])
    served.start()
    (events_dir / f"{EVENT}.yaml").write_text(
        f"id: {EVENT}\nname: Expo 2026 (live test)\n"
        f"cameras: [{{id: cam1, url: '{camera_url(served)}'}}, {{id: cam2}}]\n"
    )
    yield served
    served.stop()


def _viewer_processes(camera: LoopbackCamera) -> list[int]:
    """The ffmpeg processes reading the camera (the password in their command line is
    the expanded one: the URL's host and port find them)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            command
            and command[0].endswith(b"ffmpeg")
            and any(f"127.0.0.1:{camera.port}/cam".encode() in part for part in command)
        ):
            found.append(int(entry.name))
    return found


def _until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _parts(response: requests.Response, count: int) -> list[tuple[str, dict[str, str], bytes]]:
    """The first ``count`` parts of a live stream: (type, headers, body)."""
    parts = []
    buffer = b""
    chunks = response.iter_content(1 << 16)
    while len(parts) < count:
        while b"\r\n\r\n" not in buffer:
            buffer += next(chunks)
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        lines = [line for line in head.decode().split("\r\n") if line and not line.startswith("--")]
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
        length = int(headers["content-length"])
        while len(buffer) < length + 2:
            buffer += next(chunks)
        parts.append((headers["content-type"], headers, buffer[:length]))
        buffer = buffer[length + 2 :]
    return parts


def test_viewers_of_a_camera_share_one_ffmpeg_which_stops_when_the_last_leaves(
    web: WebServer, camera: LoopbackCamera
) -> None:
    stream = web.api(f"/events/{EVENT}/cameras/cam1/live")
    # No operator, no picture: neither the stream nor the page.
    assert requests.get(stream, timeout=10).status_code == 401
    assert requests.get(f"{web.url}/console/live/cam1", timeout=10).status_code == 401
    # A camera without a url has nothing to show; one the event does not have is not there.
    assert requests.get(web.api(f"/events/{EVENT}/cameras/cam2/live"), headers=BEARER,
                        timeout=10).status_code == 409  # fmt: skip
    assert requests.get(web.api(f"/events/{EVENT}/cameras/cam9/live"), headers=BEARER,
                        timeout=10).status_code == 404  # fmt: skip

    first = requests.get(stream, headers=BEARER, stream=True, timeout=20)
    second = requests.get(stream, headers=BEARER, stream=True, timeout=20)
    assert first.headers["content-type"].startswith("multipart/x-mixed-replace")
    frames = [p for p in _parts(first, 30) if p[0] == "image/jpeg"]
    assert [p for p in _parts(second, 5) if p[0] == "image/jpeg"]
    assert len(_viewer_processes(camera)) == 1
    assert all(body[:2] == b"\xff\xd8" and body[-2:] == b"\xff\xd9" for _, _, body in frames)
    numbers = [int(h["x-frame"]) for _, h, _ in frames]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert abs(float(frames[-1][1]["x-frame-time"]) - time.time()) < 5
    first.close()
    time.sleep(2)  # the server notices a gone viewer within a second
    assert len(_viewer_processes(camera)) == 1, "the second viewer still watches"
    second.close()
    _until(lambda: not _viewer_processes(camera), 10, "ffmpeg outlived the last viewer")


#: Installed in the page: after each frame is drawn, read its number from the strip (the
#: centre of each square) and note when it was drawn.
READ_FRAME_NUMBERS = f"""
window.drawnNumbers = [];
window.scasLiveHook = (context, frame) => {{
  const square = context.canvas.width * {SQUARE} / 1280;
  const pixels = context.getImageData(0, 0, square * {BITS}, square).data;
  let number = 0;
  for (let bit = 0; bit < {BITS}; bit++) {{
    const x = Math.floor(square * bit + square / 2), y = Math.floor(square / 2);
    const at = (y * square * {BITS} + x) * 4;
    if (pixels[at] + pixels[at + 1] + pixels[at + 2] > 3 * 128) number += 2 ** bit;
  }}
  window.drawnNumbers.push([number, Date.now() / 1000, frame.time]);
}};
"""


def test_the_live_page_shows_the_camera_at_its_rate_with_names_and_looks(
    web: WebServer, camera: LoopbackCamera, engine: FaceEngine, photos: dict[str, SamplePhoto],
    browser: Callable[..., WebDriver], screenshots: Callable[[WebDriver, str], Path],
) -> None:  # fmt: skip
    consent = ConsentText().agreed("en", datetime.now(UTC))
    with web.services.catalog() as catalog:
        catalog.events.ensure(EVENT)
    enroll_visitor(
        web.services, engine, event_id=EVENT, display_name="Jacinda", consent=consent,
        photos=[photos["ardern2"].path.read_bytes()],
    )  # fmt: skip
    driver = browser((1280, 900))
    driver.get(f"{web.url}/sign-in?token={OPERATOR_TOKEN}&next=/console/live/cam1?lang=en")
    driver.execute_script(READ_FRAME_NUMBERS)
    wait_for(driver, "return window.scasLiveStats && window.scasLiveStats.drawn > 10", 30)
    (playing,) = camera.playing  # one client: the live view's one ffmpeg
    time.sleep(1)  # past the start

    # Displayed frames per second: frames drawn over 5 s, counted in the page.
    driver.execute_script("window.drawnNumbers = [];")
    before = driver.execute_script("return [window.scasLiveStats.drawn, Date.now()];")
    time.sleep(5)
    after = driver.execute_script("return [window.scasLiveStats.drawn, Date.now()];")
    fps = (after[0] - before[0]) / ((after[1] - before[1]) / 1000)
    drawn = driver.execute_script("return window.drawnNumbers;")
    # Behind the camera: when frame n was drawn, minus when the camera sent it.
    lags = sorted(at - (playing + number / FPS) for number, at, _ in drawn)
    median, worst = statistics.median(lags), lags[int(0.95 * (len(lags) - 1))]
    numbers = [number for number, _, _ in drawn]
    print(f"\nlive view: {fps:.1f} frames/s drawn; behind the camera: median {median:.3f} s, "
          f"95th percentile {worst:.3f} s, max {lags[-1]:.3f} s ({len(drawn)} frames)")  # fmt: skip
    assert numbers == sorted(numbers), f"drawn out of order (or the strip misread): {numbers}"
    assert lags[0] >= 0, "a frame drawn before the camera sent it: the strip was misread"
    assert fps >= 20, f"{fps:.1f} frames/s drawn"
    assert worst <= 1.0, f"{worst:.2f} s behind the camera"

    # The faces: the enrolled visitor by her name, the stranger as unknown #1, each with
    # an expression, an age and a gender, as the annotated videos write them.
    captions = (
        "return (window.scasLiveStats.faces || []).map((face) => face.caption)"
        ".filter((caption) => caption.startsWith(arguments[0]));"
    )
    (caption, *_) = wait_for(driver, captions, 2 * SCENE_S + 5, "Jacinda · ")  # type: ignore[misc]
    assert len(caption.split(" · ")) == 3 and caption.endswith(" F"), caption
    # Drawn: the box's top side is the visitor's green (46, 204, 113) on the canvas. The
    # faces drawn on the picture now on the canvas and its pixels, read in one script (no
    # frame is drawn in between): the newest faces received may not be drawn yet.
    face, green = wait_for(driver, (  # type: ignore[misc]
        "const face = window.scasLiveStats.drawnFaces.find((face) => face.visitor_id);"
        "if (!face) return null;"
        "const [x1, y1, x2, y2] = face.box.map(Math.round);"
        "const d = document.getElementById('picture').getContext('2d')"
        ".getImageData(x1 + 4, y1 - 2, x2 - x1 - 8, 5).data; let n = 0;"
        "for (let i = 0; i < d.length; i += 4) {"
        "  if (Math.abs(d[i] - 46) + Math.abs(d[i + 1] - 204) + Math.abs(d[i + 2] - 113) < 30) n++;"
        "} return [face, n / (d.length / 4)];"
    ), 2 * SCENE_S + 5)  # fmt: skip
    assert face["colour"] == "#2ecc71" and face["visitor_id"]
    x1, y1, x2, y2 = face["box"]
    assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 360
    assert green > 0.3, f"{green:.0%} of the box's top side is green"
    screenshots(driver, "live")
    wait_for(driver, captions, 2 * SCENE_S + 5, "unknown #1 · ")
    # The page gone, its ffmpeg goes too.
    driver.get("about:blank")
    left = time.monotonic()
    _until(lambda: not _viewer_processes(camera), 15, "ffmpeg outlived the page")
    print(f"ffmpeg stopped {time.monotonic() - left:.1f} s after the page left")
