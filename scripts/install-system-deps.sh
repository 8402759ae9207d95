#!/usr/bin/env bash
# Install the system packages SCAS needs when they are missing:
# - ffmpeg (with ffprobe), from Debian;
# - fonts for the highlight cards: Chinese glyphs (Debian's fonts-noto-cjk), and Arabic,
#   Thai, Hebrew, Devanagari and more for names in other scripts (fonts-noto-core);
# - vtest.avi, the real street footage that synthetic events use as background, taken
#   from Debian's opencv-doc package (only that one file is kept);
# - chromium and chromium-driver, from Debian, for the web app's browser tests;
# - redis-server, the Celery broker of the loopback deployment (`scas deploy up`);
# - GStreamer's RTSP server with PyGObject (Debian's python3), the real RTSP camera the
#   ingest tests, benchmark and demo serve on loopback (scripts/rtsp-camera.py);
# - curl, with which tests/test_store_access.py probes the embedded SeaweedFS's ports as
#   another user (HTTP, TLS and HTTP/2).
set -euo pipefail

VTEST=/usr/local/share/scas/vtest.avi

need_ffmpeg=0
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || need_ffmpeg=1
need_font=0
[ -n "$(fc-list 'Noto Sans CJK SC' 2>/dev/null)" ] || need_font=1
[ -n "$(fc-list 'Noto Sans Arabic' 2>/dev/null)" ] || need_font=1
need_vtest=0
[ -f "$VTEST" ] || [ -f /usr/share/doc/opencv-doc/examples/data/vtest.avi ] || need_vtest=1
need_redis=0
command -v redis-server >/dev/null || need_redis=1
need_curl=0
command -v curl >/dev/null || need_curl=1
need_browser=0
command -v chromium >/dev/null && command -v chromedriver >/dev/null || need_browser=1
# ingest (issue 14): a real RTSP camera on loopback
RTSP_PACKAGES=(gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base
    gstreamer1.0-plugins-good gstreamer1.0-plugins-bad)
need_rtsp=0
/usr/bin/python3 -c 'import gi; gi.require_version("GstRtspServer", "1.0"); from gi.repository import GstRtspServer' \
    2>/dev/null || need_rtsp=1
[ "$need_ffmpeg$need_font$need_vtest$need_redis$need_browser$need_rtsp$need_curl" = "0000000" ] && exit 0

if ! command -v apt-get >/dev/null; then
    [ "$need_ffmpeg" = 1 ] && { echo "ffmpeg is missing: install it with your package manager" >&2; exit 1; }
    [ "$need_font" = 1 ] && { echo "Noto Sans CJK and Noto Sans (Arabic, Thai...) are missing: install them with your package manager" >&2; exit 1; }
    [ "$need_browser" = 1 ] && echo "chromium and chromedriver are missing: the web app's browser tests need them" >&2
    [ "$need_curl" = 1 ] && echo "curl is missing: the object store's access test needs it" >&2
    [ "$need_redis" = 1 ] && { echo "redis-server is missing: install it with your package manager" >&2; exit 1; }
    [ "$need_rtsp" = 1 ] && echo "no apt-get: install GStreamer's RTSP server and PyGObject for the ingest tests" >&2
    echo "no apt-get: synthetic events will use a drawn background instead of vtest.avi" >&2
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null; then
    sudo=(sudo -n)
else
    echo "run 'make system-deps' as root (needs apt-get)" >&2
    exit 1
fi

"${sudo[@]}" apt-get update -qq
if [ "$need_ffmpeg" = 1 ]; then
    echo "installing Debian's ffmpeg"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null
    ffmpeg -hide_banner -version | head -1
fi
if [ "$need_font" = 1 ]; then
    echo "installing Debian's fonts-noto-cjk and fonts-noto-core (highlight cards in every script)"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends fonts-noto-cjk fonts-noto-core fontconfig >/dev/null
fi
if [ "$need_curl" = 1 ]; then
    echo "installing Debian's curl (the object store's access test)"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends curl ca-certificates >/dev/null
fi
if [ "$need_browser" = 1 ]; then
    echo "installing Debian's chromium and chromium-driver (browser tests of the web app)"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi
if [ "$need_redis" = 1 ]; then
    # Only the binary is used (scas_lib/services/redis.py starts its own server on
    # loopback); the package's own service is not started (no systemd here; and if there
    # is one, it stays Debian's business).
    echo "installing Debian's redis-server (Celery broker of scas deploy)"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi
if [ "$need_vtest" = 1 ]; then
    echo "extracting vtest.avi from Debian's opencv-doc"
    work=$(mktemp -d)
    chmod 755 "$work"  # apt downloads as the _apt user
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && apt-get download -qq opencv-doc >/dev/null)
    dpkg-deb --fsys-tarfile "$work"/opencv-doc_*.deb \
        | tar -x -C "$work" ./usr/share/doc/opencv-doc/examples/data/vtest.avi
    "${sudo[@]}" install -D -m 0644 "$work/usr/share/doc/opencv-doc/examples/data/vtest.avi" "$VTEST"
fi
if [ "$need_rtsp" = 1 ]; then
    echo "installing GStreamer's RTSP server (the ingest tests' loopback camera)"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${RTSP_PACKAGES[@]}" >/dev/null
fi
