#!/usr/bin/env bash
# Install the system packages SCAS needs when they are missing: ffmpeg (with ffprobe).
set -euo pipefail

if command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null; then
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "ffmpeg is missing and this is not a Debian-like system: install ffmpeg yourself" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null; then
    sudo=(sudo -n)
else
    echo "ffmpeg is missing: run 'apt-get install ffmpeg' as root" >&2
    exit 1
fi
echo "installing Debian's ffmpeg"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null
ffmpeg -hide_banner -version | head -1
