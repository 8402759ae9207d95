#!/usr/bin/python3
"""A real RTSP camera on loopback: GStreamer's RTSP server (Debian's gir1.2-gst-rtsp-server-1.0)
serving an H.264 MP4 as rtsp://127.0.0.1:PORT/cam at real-time pace, for the ingest tests, the
benchmark and the demo. Run it with Debian's /usr/bin/python3 (PyGObject is not in the venv).

    /usr/bin/python3 scripts/rtsp-camera.py CLIP.mp4 PORT [--once]

It prints ``playing <unix time>`` (flushed) when a client's stream starts, so a test can hold
segment start times against the server's clock. With ``--once`` the server exits when its
first client goes (after the clip's end, say): a camera that played one clip and is gone.
"""

import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> None:
    clip, port = sys.argv[1], sys.argv[2]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f'( filesrc location="{clip}" ! qtdemux ! h264parse config-interval=-1 '
        "! rtph264pay name=pay0 pt=96 )"
    )
    factory.set_shared(True)

    def configured(_factory, media) -> None:
        def state(_media, new_state) -> None:
            if new_state == Gst.State.PLAYING:
                print(f"playing {time.time():.6f}", flush=True)

        media.connect("new-state", state)

    factory.connect("media-configure", configured)
    server.get_mount_points().add_factory("/cam", factory)
    loop = GLib.MainLoop()
    if "--once" in sys.argv[3:]:

        def connected(_server, client) -> None:
            client.connect("closed", lambda _client: loop.quit())

        server.connect("client-connected", connected)
    server.attach(None)
    print(f"serving rtsp://127.0.0.1:{port}/cam", flush=True)
    loop.run()


if __name__ == "__main__":
    main()
