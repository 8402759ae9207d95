"""Synthetic multi-camera events with ground truth: the footage SCAS is developed and judged
on, the product's demo, and the stand-in for cameras pushing segments.

``plan`` decides (pure), ``scene`` draws (pure), ``truth`` says who was visible when and
scores predictions (pure); ``people``, ``background``, ``generate`` and ``replay`` do the
I/O.
"""
