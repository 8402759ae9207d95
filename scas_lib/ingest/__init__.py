"""Cameras in: recording each camera of an event into segments (``scas ingest``), the spool
that holds them until the object store has them, and the cameras' health."""
