"""A segment's duration and whether it is whole, read from its MP4 index in-process (what
ingest asks of every segment ffmpeg lists), against ffprobe on real ffmpeg segments and on
the same files cut short where a full disk cuts them."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest

from scas_lib.ingest.mp4 import UnreadableSegment, read_index, video_track_duration_s
from scas_lib.ingest.sources import segment_output_args
from scas_lib.media.ffmpeg import run_ffmpeg
from scas_lib.media.probe import probe


@pytest.fixture(scope="module")
def segments(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Real segments as ingest records them: stream copy of H.264 with B-frames (an edit
    list in each track) and the encoded kind ingest makes of an MJPEG camera."""
    folder = tmp_path_factory.mktemp("segments")
    copied, encoded = folder / "copied", folder / "encoded"
    source = folder / "source.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30000/1001", "-t", "7",
                "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "30",
                str(source)], "B-frame source")  # fmt: skip
    for folder_, copy in ((copied, True), (encoded, False)):
        folder_.mkdir()
        run_ffmpeg(["-i", str(source), *segment_output_args(2, str(folder_), copy=copy)],
                   "segments")  # fmt: skip
    found = sorted(copied.glob("seg*.mp4")) + sorted(encoded.glob("seg*.mp4"))
    assert len(found) >= 6
    return found


def test_the_duration_read_from_the_index_is_ffprobes(segments: list[Path]) -> None:
    for segment in segments:
        duration = video_track_duration_s(read_index(segment))
        assert duration == pytest.approx(probe(segment).duration, abs=1e-5), segment


def test_reading_the_index_costs_a_small_fraction_of_an_ffprobe(segments: list[Path]) -> None:
    def cpu() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    before = cpu()
    for segment in segments:
        probe(segment)
    probing = cpu() - before
    before = cpu()
    for _ in range(10):
        for segment in segments:
            video_track_duration_s(read_index(segment))
    reading = (cpu() - before) / 10
    assert reading < probing / 20, (reading, probing)


@pytest.mark.parametrize("keep", ["before the index", "half the index", "half the media"])
def test_a_segment_cut_short_is_unreadable(segments: list[Path], tmp_path: Path, keep: str) -> None:
    whole = segments[1].read_bytes()
    moov_at = whole.rindex(b"moov") - 4
    mdat_at = whole.index(b"mdat") - 4
    cut = {"before the index": moov_at, "half the index": (moov_at + len(whole)) // 2,
           "half the media": (mdat_at + moov_at) // 2}[keep]  # fmt: skip
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(whole[:cut])
    with pytest.raises(UnreadableSegment):
        video_track_duration_s(read_index(broken))


def test_a_file_that_is_not_an_mp4_or_has_no_video_is_found_out(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n")
    with pytest.raises(UnreadableSegment):
        read_index(text)
    sound = tmp_path / "sound.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(sound)], "audio")
    assert video_track_duration_s(read_index(sound)) is None
