"""Highlights: a visitor's best moments chosen (pure) and rendered into a short video.

- :mod:`~scas_lib.highlights.templates`: the look of a video (cards, music, length, size);
- :mod:`~scas_lib.highlights.selection`: appearances in, an edit plan out (no I/O);
- :mod:`~scas_lib.highlights.assembly`: an edit plan and the sources' keyframes in, the
  pieces to copy or encode out, and which footage can be copied (no I/O);
- :mod:`~scas_lib.highlights.framing`: where a vertical crop sits to follow a face (no I/O);
- :mod:`~scas_lib.highlights.cards`: what the cards say, in which size and where (no I/O);
- :mod:`~scas_lib.highlights.music`: the default soundtrack, synthesised (no I/O);
- :mod:`~scas_lib.highlights.sound`: the soundtrack file: music, loudness, fades, AAC;
- :mod:`~scas_lib.highlights.graph`: the ffmpeg filter graphs of a render (built, not run);
- :mod:`~scas_lib.highlights.render`: the adapter that runs the graphs and makes the file;
- :mod:`~scas_lib.highlights.stage`: the catalog and object-store side (plan, render, publish).
"""
