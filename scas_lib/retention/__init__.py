"""Retention: how long an event's personal data is kept (:mod:`.policy`, pure) and the purge
that applies it (:mod:`.stage`), run by ``scas purge`` and the daily DAG ``scas_retention``."""
