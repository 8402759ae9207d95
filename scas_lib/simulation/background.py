"""Scene backgrounds: real street footage when the machine has it, else a drawn venue.

Debian's ``opencv-doc`` ships ``vtest.avi``, 80 s of a real campus street with people
walking (768x576, 10 fps); ``make test`` and ``make demo`` extract just that file to
``/usr/local/share/scas/vtest.avi``. Each camera shows its own zoomed, possibly mirrored
crop of it from its own starting point, looping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, cast

import cv2
import numpy as np
from numpy.typing import NDArray

from scas_lib.simulation.plan import CameraPlan

BACKGROUND_VIDEOS = (
    Path("/usr/local/share/scas/vtest.avi"),
    Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi"),
)


class Background(Protocol):
    def frame(self, t: float) -> NDArray[np.uint8]: ...


def find_background_video() -> Path | None:
    return next((path for path in BACKGROUND_VIDEOS if path.exists()), None)


def background_for(camera: CameraPlan, video: Path | None, seed: int) -> Background:
    if video is not None:
        return VideoBackground(video, camera)
    return DrawnBackground(camera, seed)


class VideoBackground:
    """Frames of a real video, read in order (times must not go backwards)."""

    def __init__(self, path: Path, camera: CameraPlan) -> None:
        self.path = path
        self.camera = camera
        self._capture = cv2.VideoCapture(str(path))
        self._fps = self._capture.get(cv2.CAP_PROP_FPS) or 10.0
        self._count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT)) or 1
        self._index = -1
        self._current: NDArray[np.uint8] | None = None

    def frame(self, t: float) -> NDArray[np.uint8]:
        wanted = int((t + self.camera.background_offset_s) * self._fps) % self._count
        if wanted != self._index or self._current is None:
            self._current = self._fit(self._read(wanted))
            self._index = wanted
        return self._current

    def _read(self, wanted: int) -> NDArray[np.uint8]:
        if wanted != self._index + 1:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, wanted)
        ok, image = self._capture.read()
        if not ok:  # some codecs miscount frames: go back to the start
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self._capture.read()
        return cast(NDArray[np.uint8], image)

    def _fit(self, image: NDArray[np.uint8]) -> NDArray[np.uint8]:
        camera = self.camera
        height, width = image.shape[:2]
        crop_w = width / camera.background_zoom
        crop_h = min(height, crop_w * camera.height / camera.width)
        crop_w = crop_h * camera.width / camera.height
        left = int((width - crop_w) / 2)
        top = int(height - crop_h)  # keep the ground in view
        crop = image[top : top + int(crop_h), left : left + int(crop_w)]
        if camera.background_mirror:
            crop = crop[:, ::-1]
        resized = cv2.resize(crop, (camera.width, camera.height), interpolation=cv2.INTER_LINEAR)
        return cast(NDArray[np.uint8], resized)


class DrawnBackground:
    """A venue hall: back wall with panels, a floor in perspective, slowly moving light."""

    def __init__(self, camera: CameraPlan, seed: int) -> None:
        rng = np.random.default_rng(seed)
        height, width = camera.height, camera.width
        image = np.zeros((height, width, 3), np.uint8)
        horizon = int(height * 0.45)
        wall = np.array(rng.integers(90, 170, 3), np.uint8)
        image[:horizon] = wall
        for x in range(0, width, max(40, width // 12)):
            shade = wall.astype(int) + int(rng.integers(-25, 25))
            cv2.rectangle(
                image, (x + 6, 30), (x + width // 14, horizon - 30), shade.clip(0, 255).tolist(), -1
            )
        floor = np.linspace(60, 140, height - horizon, dtype=np.float32)[:, None, None]
        image[horizon:] = (floor * np.array([0.9, 0.85, 0.8])).astype(np.uint8)
        noise = rng.normal(0, 6, image.shape).astype(np.int16)
        noisy = np.clip(image.astype(np.int16) + noise, 0, 255)
        self._image: NDArray[np.uint8] = noisy.astype(np.uint8)

    def frame(self, t: float) -> NDArray[np.uint8]:
        return self._image
