"""Build-time tools, run once when a machine is set up, never while footage is processed:
the default model pack built from registry packages (:mod:`.install`, with the graph repairs
of :mod:`.onnx_surgery`), the pinned-file fetcher for a package index (:mod:`.registry`) and
the sample photos the tests and the demo use (:mod:`.samples`).
"""
