"""SCAS glue that only makes sense inside Airflow: connections, the segment trigger and the
sensor that defers to it. Everything else is in ``scas_lib`` (see scas_lib/run/).

Airflow puts the plugins folder on ``sys.path`` in every component (dag-processor, workers,
triggerer), so this package imports as ``scas_airflow``.
"""
