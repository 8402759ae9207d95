"""Media adapters: ffmpeg and ffprobe, and the pure helpers around them.

- :mod:`~scas_lib.media.ffmpeg`: the one place that starts ffmpeg, ffprobe and fc-list
  (one runner, with a time limit; a failure is a one-line ``MediaError``);
- :mod:`~scas_lib.media.probe`: the one ffprobe reader (``VideoInfo``);
- :mod:`~scas_lib.media.decode`: sampled decoding with PyAV (FFmpeg's libraries, no
  program started);
- :mod:`~scas_lib.media.h264`: H.264 Annex B streams, NAL units and parameter sets (pure).
"""
