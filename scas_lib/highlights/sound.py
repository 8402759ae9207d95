"""The soundtrack of a highlight: the template's music (a file, or synthesised by
:mod:`~scas_lib.highlights.music`), looped to the video's length, faded in and out, brought
to the template's loudness (EBU R128) and encoded as AAC.

The loudness is measured first (ffmpeg's ebur128) and corrected by one gain: on music that
is already mastered this is what loudnorm's two-pass mode does, for a tenth of the time of
its one-pass mode (which resamples to 192 kHz).

Its beats (:func:`soundtrack_beats`), where the video's cuts go: the generated music's grid,
or, for a venue's own track, the beats librosa's beat tracker finds in it, repeated as the
track loops.

A soundtrack depends only on the template's music and sound settings and on the video's
length, never on who is in the video: with a cache directory it is made once per length
and reused (the vertical version of a video, other visitors' videos of the same length).

>>> round(loudness_gain_db(-16.0, -22.5), 2)
6.5
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import tempfile
import wave
from pathlib import Path

import ffmpeg
import numpy as np

from scas_lib.highlights.beats import beat_grid, looped
from scas_lib.highlights.music import BPM, LOOP_S, SAMPLE_RATE, soundtrack
from scas_lib.highlights.templates import Template
from scas_lib.media.ffmpeg import MediaError, run_ffmpeg, run_graph

#: Peaks stay under this (dBFS) when the gain is positive.
PEAK_LIMIT_DB = -2.0
#: Fades of the soundtrack, in and out (seconds).
FADE_IN_S, FADE_OUT_S = 1.0, 2.0
#: ffmpeg's default AAC coder (twoloop) costs 2.5x the "fast" one for no audible gain on
#: music at this rate.
AAC_BITRATE = "192k"
#: Soundtracks kept in a cache directory (about 0.7 MB for 30 s); the least recently used
#: go first. A venue's videos have a few hundred lengths at most.
CACHED_SOUNDTRACKS = 500


def soundtrack_beats(template: Template, duration: float) -> list[float]:
    """The beats of a ``duration`` s video's soundtrack, in seconds from its start: the
    generated music's (a kick on every beat from 0), or those found in the template's music
    file (none where it cannot be read: the cuts then stay where the plan has them)."""
    if template.music == "generated":
        return beat_grid(BPM, duration)
    path = Path(template.music)
    try:
        stat = path.stat()
    except OSError:
        return []
    beats, length = _track_beats(str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    return looped(beats, length, duration)


@functools.lru_cache(maxsize=8)
def _track_beats(path: str, size: int, modified_ns: int) -> tuple[list[float], float]:
    """The beats librosa's tracker finds in a music file (seconds) and the file's length;
    kept per file version (``size``, ``modified_ns``): a venue renders many videos."""
    import librosa  # a second to import; only a venue's own track needs it

    del size, modified_ns  # (the cache's key)
    try:
        samples, rate = librosa.load(path, sr=22_050, mono=True)
    except Exception as error:  # audioread's and soundfile's own errors, many kinds
        raise MediaError(f"cannot read the music {Path(path).name}: {error}") from error
    _, frames = librosa.beat.beat_track(y=samples, sr=rate)
    beats = [float(t) for t in librosa.frames_to_time(frames, sr=rate)]
    return beats, len(samples) / rate


def loudness_gain_db(target_lufs: float, measured_lufs: float) -> float:
    """The gain that brings audio measured at ``measured_lufs`` to ``target_lufs``."""
    return target_lufs - measured_lufs


def make_soundtrack(
    template: Template, duration: float, workdir: Path, cache: Path | None = None
) -> Path:
    """The soundtrack of a ``duration`` s video as an AAC file: in ``workdir``, or in
    ``cache`` (taken from there when it was made before)."""
    if cache is None:
        return _encode_soundtrack(template, duration, workdir, workdir / "sound.m4a")
    key = soundtrack_key(template, duration)
    if key is None:  # a music file that cannot be read: say so as the render would
        return _encode_soundtrack(template, duration, workdir, workdir / "sound.m4a")
    cached = cache / f"{key}.m4a"
    if cached.is_file():
        os.utime(cached)  # recently used: kept longer
        return cached
    cache.mkdir(parents=True, exist_ok=True)
    # Made under a name of its own and renamed: a render running at the same time never
    # reads half a file, and two that make the same soundtrack leave one.
    handle, name = tempfile.mkstemp(dir=cache, prefix=f".{key}-", suffix=".m4a")
    os.close(handle)
    try:
        _encode_soundtrack(template, duration, workdir, Path(name))
        os.replace(name, cached)
    finally:
        Path(name).unlink(missing_ok=True)
    _trim_cache(cache, CACHED_SOUNDTRACKS)
    return cached


def soundtrack_key(template: Template, duration: float) -> str | None:
    """What a soundtrack is made of, as a file name: the music (for a file, its size and
    modification time), the sound settings and the length; None for a music file that
    cannot be read."""
    if template.music == "generated":
        music: object = ["generated", LOOP_S]
    else:
        try:
            stat = Path(template.music).stat()
        except OSError:
            return None
        music = [str(Path(template.music).resolve()), stat.st_size, stat.st_mtime_ns]
    recipe = [
        1,  # the recipe's version: change it when the soundtrack is made differently
        music,
        template.loudness_lufs,
        [FADE_IN_S, FADE_OUT_S, PEAK_LIMIT_DB, AAC_BITRATE, SAMPLE_RATE],
        f"{duration:.4f}",
    ]
    return hashlib.sha256(json.dumps(recipe).encode()).hexdigest()[:32]


def _trim_cache(cache: Path, keep: int) -> None:
    """Only the ``keep`` most recently used soundtracks stay in ``cache``."""
    files = sorted(cache.glob("*.m4a"), key=lambda path: path.stat().st_mtime, reverse=True)
    for path in files[keep:]:
        path.unlink(missing_ok=True)


def _encode_soundtrack(template: Template, duration: float, workdir: Path, target: Path) -> Path:
    """The soundtrack made and encoded into ``target``."""
    music = music_file(template, duration, workdir)
    gain_db = loudness_gain_db(template.loudness_lufs, measure_loudness(music, duration))
    sound = (
        _faded(music, duration)
        .filter("volume", f"{gain_db:.2f}dB")
        .filter("alimiter", limit=10 ** (PEAK_LIMIT_DB / 20), level="disabled")
        .filter("aformat", sample_rates=SAMPLE_RATE, channel_layouts="stereo")
    )
    run_graph(
        sound.output(
            str(target), acodec="aac", aac_coder="fast", audio_bitrate=AAC_BITRATE,
            ar=SAMPLE_RATE,
        ),
        "soundtrack",
    )  # fmt: skip
    return target


def music_file(template: Template, duration: float, workdir: Path) -> Path:
    """The template's music file; for ``generated``, the synthesised music written as WAV:
    one loop of it (:data:`~scas_lib.highlights.music.LOOP_S`) when the video is longer,
    which ffmpeg plays over and over (a tenth of the synthesis of 30 s)."""
    if template.music != "generated":
        path = Path(template.music)
        if not path.is_file():
            raise MediaError(f"template {template.name!r}: music file {path} not found")
        return path
    samples = (soundtrack(min(duration + 0.5, LOOP_S)) * 32767).astype("<i2")
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


def _faded(music: Path, duration: float) -> ffmpeg.nodes.FilterableStream:
    """``music`` looped to ``duration`` seconds, faded in and out."""
    return (
        ffmpeg.input(str(music), stream_loop=-1)
        .audio.filter("atrim", duration=f"{duration:.4f}")
        .filter("afade", type="in", duration=FADE_IN_S)
        .filter(
            "afade", type="out", start_time=max(0.0, duration - FADE_OUT_S), duration=FADE_OUT_S
        )
    )
