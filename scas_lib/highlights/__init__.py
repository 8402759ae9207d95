"""Highlights: a visitor's best moments chosen (pure) and rendered into a short video.

- :mod:`~scas_lib.highlights.templates`: the look of a video (cards, music, length, size);
- :mod:`~scas_lib.highlights.selection`: appearances in, an edit plan out (no I/O);
- :mod:`~scas_lib.highlights.assembly`: an edit plan and the sources' keyframes in, the
  pieces to copy or encode out (no I/O);
- :mod:`~scas_lib.highlights.music`: the default soundtrack, synthesised (no I/O);
- :mod:`~scas_lib.highlights.render`: the ffmpeg adapter that makes the file;
- :mod:`~scas_lib.highlights.stage`: the catalog and object-store side (plan, render, publish).
"""
