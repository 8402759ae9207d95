"""Visitors: the enroll and forget stages (:mod:`.stage`)."""
