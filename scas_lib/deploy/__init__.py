"""Deploying SCAS's Airflow: the settings shared with docker-compose.yaml
(:mod:`.config`, ``airflow.env``), what runs before Airflow starts (:mod:`.airflow_init`),
the Celery workers (:mod:`.worker`), the whole deployment on loopback without Docker
(:mod:`.loopback`, ``scas deploy up|down|status``) and its REST API (:mod:`.api`).

Nothing here imports Airflow at import time.
"""
