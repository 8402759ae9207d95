"""SCAS: venue camera footage in, a personal highlight video for every visitor out.

The library is importable without Airflow. Each stage is one function with plain inputs and
outputs; the CLI (``scas``), the Airflow DAGs and the tests call the same functions.
"""

__version__ = "0.1.0"
