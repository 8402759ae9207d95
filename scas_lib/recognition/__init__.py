"""Segment recognition: sampled decoding, face tracking, identity per track."""
