"""The default soundtrack, synthesised: no file to license, nothing downloaded. Pure.

A warm I-V-vi-IV progression at 100 bpm: soft pad chords, a bass line, a plucked
arpeggio and a gentle kick on the beat. Deterministic: the same length gives the same
samples. Levels are left to the renderer's loudness normalisation.

>>> samples = soundtrack(2.0, sample_rate=8000)
>>> samples.shape, samples.dtype
((16000, 2), dtype('float32'))
>>> bool(abs(samples).max() <= 1.0)
True
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

SAMPLE_RATE = 48_000
BPM = 100.0
#: C major: C - G - Am - F, as MIDI notes of each chord (root position, middle octave).
PROGRESSION = ((60, 64, 67), (55, 59, 62), (57, 60, 64), (53, 57, 60))
#: Seconds after which the music starts over: the whole progression, a bar a chord. Every
#: voice is silent at a bar's turn (the pad swells from and back to nothing, the notes start
#: from nothing), so the loop played again and again sounds as the longer music would.
LOOP_S = len(PROGRESSION) * 4 * 60.0 / BPM


def soundtrack(duration_s: float, sample_rate: int = SAMPLE_RATE) -> NDArray[np.float32]:
    """Stereo float32 samples in [-1, 1], shape (frames, 2)."""
    frames = max(1, round(duration_s * sample_rate))
    n = np.arange(frames, dtype=np.int64)
    t = n / sample_rate
    beat_s = 60.0 / BPM
    bar_s = 4 * beat_s
    # Positions in the bar, the beat and the arpeggio's step from the sample count: integer
    # division is far cheaper than a floating-point modulo over every sample, and exact (a
    # float put a few notes' onsets a sample late). At 48 kHz all three are whole samples.
    bar, beat = round(bar_s * sample_rate), round(beat_s * sample_rate)
    chord_index = (n // bar) % len(PROGRESSION)
    left = np.zeros(frames)
    right = np.zeros(frames)
    for index, chord in enumerate(PROGRESSION):
        mask = chord_index == index
        if not mask.any():
            continue
        tm = t[mask]
        in_bar_n = n[mask] % bar
        in_bar = in_bar_n / sample_rate
        pad = sum(_tone(tm, _hz(note), detune=0.003) for note in chord) / len(chord)
        pad *= 0.35 * _swell(in_bar, bar_s)
        bass = 0.45 * _pluck(tm, _hz(chord[0] - 24), (in_bar_n % (2 * beat)) / sample_rate, 1.2)
        arp_note = np.array((*chord, chord[0] + 12))[(in_bar_n // (beat // 2)) % 4]
        arp = 0.22 * _pluck_notes(tm, arp_note, (in_bar_n % (beat // 2)) / sample_rate, 6.0)
        left[mask] = pad + bass + 0.8 * arp
        right[mask] = pad + bass + 1.2 * arp * 0.85
    kick = _kick((n % beat) / sample_rate)
    left += kick
    right += kick
    stereo = np.stack([left, right], axis=1)
    peak = np.abs(stereo).max() or 1.0
    return (0.9 * stereo / peak).astype(np.float32)


def _cycle(cycles: NDArray[np.float64]) -> NDArray[np.float32]:
    """The fraction of a cycle, in float32: taken in float64 (exact enough at any time),
    kept in float32, in which numpy's sine is vectorised (some 30x faster than float64)."""
    return (cycles - np.floor(cycles)).astype(np.float32)


def _sine(cycles: NDArray[np.float64]) -> NDArray[np.float32]:
    """sin(2 pi cycles), see :func:`_cycle`."""
    sine: NDArray[np.float32] = np.sin(np.float32(2 * np.pi) * _cycle(cycles))
    return sine


def _hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _tone(t: NDArray[np.float64], hz: float, detune: float = 0.0) -> NDArray[np.float32]:
    """Two slightly detuned soft saw-ish voices (three harmonics)."""
    voice = np.zeros(t.shape, np.float32)
    for factor in (1 - detune, 1 + detune):
        phase = np.float32(2 * np.pi) * _cycle(hz * factor * t)
        for harmonic, gain in ((1, 1.0), (2, 0.35), (3, 0.12)):
            voice += np.float32(gain) * np.sin(np.float32(harmonic) * phase)
    return voice / np.float32(2)  # float32 with a plain 2 too; typed so only like this


def _swell(in_bar: NDArray[np.float64], bar_s: float) -> NDArray[np.float64]:
    """Pad envelope: quick attack, slow release over the bar, no click at the change."""
    attack = np.clip(in_bar / 0.08, 0, 1)
    release = np.clip((bar_s - in_bar) / 0.08, 0, 1)
    return attack * release * (1 - 0.3 * in_bar / bar_s)


def _pluck(
    t: NDArray[np.float64], hz: float, since_onset: NDArray[np.float64], decay: float
) -> NDArray[np.float64]:
    plucked: NDArray[np.float64] = (
        _sine(hz * t) * np.exp(-decay * since_onset) * _no_click(since_onset)
    )
    return plucked


def _pluck_notes(
    t: NDArray[np.float64],
    notes: NDArray[np.int64],
    since_onset: NDArray[np.float64],
    decay: float,
) -> NDArray[np.float64]:
    hz = 440.0 * 2 ** ((notes + 12 - 69) / 12)
    tone = _sine(hz * t) + 0.3 * _sine(2 * hz * t)
    plucked: NDArray[np.float64] = tone * np.exp(-decay * since_onset) * _no_click(since_onset)
    return plucked


def _kick(since_beat: NDArray[np.float64]) -> NDArray[np.float64]:
    """A soft sine kick: pitch falling from 110 to 45 Hz in 120 ms."""
    phase = 2 * np.pi * (45 * since_beat + 65 * 0.03 * (1 - np.exp(-since_beat / 0.03)))
    kick: NDArray[np.float64] = (
        0.5 * np.sin(phase) * np.exp(-since_beat / 0.09) * _no_click(since_beat)
    )
    return kick


def _no_click(since_onset: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.clip(since_onset / 0.004, 0, 1)
