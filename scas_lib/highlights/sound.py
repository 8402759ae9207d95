"""The soundtrack of a highlight: the template's music (a file, or synthesised by
:mod:`~scas_lib.highlights.music`), looped to the video's length, faded in and out, brought
to the template's loudness (EBU R128) and encoded as AAC.

The loudness is measured first (ffmpeg's ebur128) and corrected by one gain: on music that
is already mastered this is what loudnorm's two-pass mode does, for a tenth of the time of
its one-pass mode (which resamples to 192 kHz).

>>> round(loudness_gain_db(-16.0, -22.5), 2)
6.5
"""

from __future__ import annotations

import re
import wave
from pathlib import Path

import ffmpeg
import numpy as np

from scas_lib.highlights.music import SAMPLE_RATE, soundtrack
from scas_lib.highlights.templates import Template
from scas_lib.media.ffmpeg import MediaError, run_ffmpeg, run_graph

#: Peaks stay under this (dBFS) when the gain is positive.
PEAK_LIMIT_DB = -2.0
#: Fades of the soundtrack, in and out (seconds).
FADE_IN_S, FADE_OUT_S = 1.0, 2.0
#: ffmpeg's default AAC coder (twoloop) costs 2.5x the "fast" one for no audible gain on
#: music at this rate.
AAC_BITRATE = "192k"


def loudness_gain_db(target_lufs: float, measured_lufs: float) -> float:
    """The gain that brings audio measured at ``measured_lufs`` to ``target_lufs``."""
    return target_lufs - measured_lufs


def make_soundtrack(template: Template, duration: float, workdir: Path) -> Path:
    """The soundtrack of a ``duration`` s video as an AAC file in ``workdir``."""
    music = music_file(template, duration, workdir)
    gain_db = loudness_gain_db(template.loudness_lufs, measure_loudness(music, duration))
    sound = (
        _faded(music, duration)
        .filter("volume", f"{gain_db:.2f}dB")
        .filter("alimiter", limit=10 ** (PEAK_LIMIT_DB / 20), level="disabled")
        .filter("aformat", sample_rates=SAMPLE_RATE, channel_layouts="stereo")
    )
    target = workdir / "sound.m4a"
    run_graph(
        sound.output(
            str(target), acodec="aac", aac_coder="fast", audio_bitrate=AAC_BITRATE, ar=SAMPLE_RATE
        ),
        "soundtrack",
    )
    return target


def music_file(template: Template, duration: float, workdir: Path) -> Path:
    """The template's music file; for ``generated``, the synthesised music written as WAV."""
    if template.music != "generated":
        path = Path(template.music)
        if not path.is_file():
            raise MediaError(f"template {template.name!r}: music file {path} not found")
        return path
    samples = (soundtrack(duration + 0.5) * 32767).astype("<i2")
    path = workdir / "music.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(np.ascontiguousarray(samples).tobytes())
    return path


def measure_loudness(path: Path, duration: float | None = None) -> float:
    """Integrated loudness (EBU R128, LUFS) of a file's audio, or of the faded soundtrack
    that :func:`make_soundtrack` makes of ``path`` when ``duration`` is given."""
    audio = _faded(path, duration) if duration else ffmpeg.input(str(path)).audio
    # ebur128 prints its summary at the info level: the run is not quiet.
    measuring = audio.filter("ebur128").output("-", format="null")
    stderr = run_ffmpeg(
        ["-v", "info", "-nostats", *measuring.get_args()], f"loudness of {path.name}"
    ).stderr
    integrated = re.search(r"I:\s+(-?[\d.]+) LUFS", stderr.rpartition("Summary:")[2])
    if integrated is None:
        raise MediaError(f"cannot measure the loudness of {path.name}")
    return float(integrated.group(1))


def _faded(music: Path, duration: float):
    """``music`` looped to ``duration`` seconds, faded in and out."""
    return (
        ffmpeg.input(str(music), stream_loop=-1)
        .audio.filter("atrim", duration=f"{duration:.4f}")
        .filter("afade", type="in", duration=FADE_IN_S)
        .filter(
            "afade", type="out", start_time=max(0.0, duration - FADE_OUT_S), duration=FADE_OUT_S
        )
    )
