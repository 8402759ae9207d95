"""A camera on loopback: GStreamer's RTSP server (``scripts/rtsp-camera.py`` of the
checkout, run by Debian's ``/usr/bin/python3``, which has the GObject bindings) serving a
clip at real-time pace. It can be stopped, or killed, and started again on the same port,
as a camera that drops off the network and comes back. The ingest tests, the live view's
test and the ingest and soak benchmarks all start their cameras here.

    camera = LoopbackCamera(Path("clip.mp4"), port=8554)
    camera.start()      # returns once the server listens
    camera.url          # 'rtsp://127.0.0.1:8554/cam'
    camera.playing      # when each client's stream started, on the server's clock
    camera.stop()
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from typing import IO

from scas_lib.errors import ScasError

SERVER_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "rtsp-camera.py"


class CameraServerError(ScasError):
    """The RTSP server did not start (GStreamer's RTSP server not installed, say)."""


class LoopbackCamera:
    """One RTSP server on 127.0.0.1 serving ``clip`` as ``rtsp://127.0.0.1:PORT/cam``."""

    def __init__(self, clip: Path, port: int) -> None:
        self.clip, self.port = clip, port
        #: The Unix time each client's stream started (the server prints it).
        self.playing: list[float] = []
        self.process: subprocess.Popen[str] | None = None

    @property
    def address(self) -> str:
        """The URL without its scheme, for a URL with credentials in front."""
        return f"127.0.0.1:{self.port}/cam"

    @property
    def url(self) -> str:
        return f"rtsp://{self.address}"

    def start(self) -> None:
        """Start the server; return once it listens."""
        if not SERVER_SCRIPT.is_file():
            raise CameraServerError(f"no {SERVER_SCRIPT}: a loopback camera runs from a checkout")
        self.process = subprocess.Popen(
            ["/usr/bin/python3", str(SERVER_SCRIPT), str(self.clip), str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        if not first.startswith("serving"):
            self.process.kill()
            raise CameraServerError(
                f"the RTSP server did not start (make system-deps?): {first.strip()}"
            )
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _read(self, stdout: IO[str]) -> None:
        for line in stdout:
            if line.startswith("playing "):
                self.playing.append(float(line.split()[1]))

    def stop(self) -> None:
        """Stop the server (SIGTERM), as a camera switched off."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def kill(self) -> None:
        """Kill the server (SIGKILL), as a camera that lost power."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
